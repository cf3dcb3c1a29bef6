package history_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/history"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// TestArchiveReadsEachCommitOnce: over many archives (a small checkpoint threshold,
// so that each is an archive in flight followed by the tail's on the runner), the
// bytes read from the log are about the bytes archived (1.27× here: frame headers,
// pages a commit wrote twice; 2.6× before): the tail reads the log from
// where the archive in flight stopped, not from its start again (before, each cycle
// read the whole log twice, on the runner the second time). Then every 25th turn
// still restores exactly.
func TestArchiveReadsEachCommitOnce(t *testing.T) {
	dir := t.TempDir()
	clock := objecttest.NewClock()
	e := start(t, dir, clock, history.Config{CheckpointBytes: 64 << 10})
	ctx := context.Background()
	stub := e.ns.GetByName("once")
	id := stub.ID()
	before := history.LogBytesRead()
	var marks []string
	const turns = 600
	for n := 1; n <= turns; n++ {
		clock.Advance(time.Millisecond)
		if _, err := turnM.Call(ctx, stub, n); err != nil {
			t.Fatal(err)
		}
		if n%25 == 0 {
			bm, err := e.rt.CurrentBookmark(ctx, "ledger", id)
			if err != nil {
				t.Fatal(err)
			}
			marks = append(marks, bm)
		}
	}
	e.rt.EvictAll() // archives the rest
	read := history.LogBytesRead() - before
	segs, err := filepath.Glob(filepath.Join(dir, ".history", "ledger", id.String()[:2], id.String(), "seg-*.log"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("segments: %v %v", segs, err)
	}
	var archived int64
	for _, s := range segs {
		fi, err := os.Stat(s)
		if err != nil {
			t.Fatal(err)
		}
		archived += fi.Size()
	}
	t.Logf("read %d bytes of log for %d bytes of segments", read, archived)
	if archived < 1<<20 {
		t.Fatalf("only %d bytes archived: too few archives to tell", archived)
	}
	if float64(read) > 1.6*float64(archived) {
		t.Fatalf("archives read %d bytes of log for %d bytes of segments (%.2f×): commits are read again", read, archived, float64(read)/float64(archived))
	}
	for i, bm := range marks {
		if _, err := e.rt.RestoreBookmark(ctx, "ledger", id, bm); err != nil {
			t.Fatalf("restore to turn %d: %v", 25*(i+1), err)
		}
		if got, want := kv(t, e.rt, id), stateAfter(25*(i+1)); !maps.Equal(got, want) {
			t.Fatalf("restored to turn %d: %d keys, want %d", 25*(i+1), len(got), len(want))
		}
	}
	integrity(t, e.rt, id, "ledger")
	if err := e.hist.Verify("ledger", id); err != nil {
		t.Fatal(err)
	}
}
