package history_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/history"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// TestRestoreAfterKill runs a child process that writes through concurrent callers
// with history on (a small checkpoint threshold: archives all the time) and prints
// each acknowledged key, kills it with SIGKILL mid-write, and then, on the same
// files: the history passes Verify, the current bookmark restores a state holding
// every acknowledged key (integrity_check), and an earlier moment restores too.
// Three rounds on one data directory. The child's segment syncs take 50 ms longer
// (a slow disk), so that the kill most likely lands while an archive is in flight
// or a tail's sync overlaps a checkpoint.
func TestRestoreAfterKill(t *testing.T) {
	if dir := os.Getenv("WARREN_HISTORY_CRASH_DIR"); dir != "" {
		crashChild(dir, os.Getenv("WARREN_HISTORY_CRASH_ROUND"))
		return
	}
	dir := t.TempDir()
	acked := map[string]bool{}
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRestoreAfterKill$", "-test.count=1")
		cmd.Env = append(os.Environ(), "WARREN_HISTORY_CRASH_DIR="+dir, fmt.Sprint("WARREN_HISTORY_CRASH_ROUND=", round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		n, killAt := 0, 300+round*250
		var mid time.Time
		for sc.Scan() {
			if key, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
				acked[key] = true
				if n++; n == killAt {
					cmd.Process.Signal(syscall.SIGKILL)
				}
				if n == killAt/2 {
					mid = time.Now()
				}
			}
		}
		cmd.Wait()
		if n < killAt {
			t.Fatalf("round %d: the child acknowledged only %d writes before it exited", round, n)
		}

		h, err := history.New(history.Config{Dir: filepath.Join(dir, ".history"), SweepInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		rt := objecttest.New(t, object.Config{DataDir: dir, Clock: object.SystemClock, History: h})
		ns, err := object.Register(rt.Runtime, "marks", newMarks, object.Methods(markM))
		if err != nil {
			t.Fatal(err)
		}
		id := ns.GetByName("m").ID()
		if err := h.Verify("marks", id); err != nil {
			t.Fatalf("round %d: history after the kill: %v", round, err)
		}
		ctx := context.Background()
		cur, err := rt.CurrentBookmark(ctx, "marks", id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rt.RestoreBookmark(ctx, "marks", id, cur); err != nil {
			t.Fatalf("round %d: restore the current bookmark: %v", round, err)
		}
		integrity(t, rt, id, "marks")
		got := rt.KV(t, "marks", id)
		for k := range acked {
			if _, ok := got[k]; !ok {
				t.Fatalf("round %d: acknowledged %s is not in the restored state (%d keys, %d acknowledged)", round, k, len(got), len(acked))
			}
		}
		earlier, err := rt.BookmarkForTime(ctx, "marks", id, mid)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rt.RestoreBookmark(ctx, "marks", id, earlier); err != nil {
			t.Fatalf("round %d: restore the middle of the round: %v", round, err)
		}
		integrity(t, rt, id, "marks")
		if n := len(rt.KV(t, "marks", id)); n >= len(got) {
			t.Fatalf("round %d: the middle of the round has %d keys, the end %d", round, n, len(got))
		}
		if _, err := rt.RestoreBookmark(ctx, "marks", id, cur); err != nil {
			t.Fatal(err)
		}
		if err := h.Verify("marks", id); err != nil {
			t.Fatalf("round %d: history after the restores: %v", round, err)
		}
		rt.Close()
		h.Close()
	}
}

type marks struct{ st *object.State }

func newMarks(ctx context.Context, st *object.State) (*marks, error) { return &marks{st: st}, nil }

func (m *marks) Mark(ctx context.Context, key string) (string, error) {
	return key, m.st.Storage().Put(key, []byte(strings.Repeat("x", 300)))
}

var markM = object.NewMethod("mark", (*marks).Mark)

// crashChild writes marks through 8 callers until it is killed.
func crashChild(dir, round string) {
	history.SlowSegmentSyncs(50 * time.Millisecond)
	h, err := history.New(history.Config{Dir: filepath.Join(dir, ".history"), CheckpointBytes: 32 << 10, SweepInterval: -1})
	if err != nil {
		panic(err)
	}
	rt, err := object.New(object.Config{DataDir: dir, History: h, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		panic(err)
	}
	ns, err := object.Register(rt, "marks", newMarks, object.Methods(markM))
	if err != nil {
		panic(err)
	}
	stub := ns.GetByName("m")
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				key := fmt.Sprintf("r%s-c%d-%06d", round, c, i)
				if _, err := markM.Call(context.Background(), stub, key); err != nil {
					fmt.Fprintln(os.Stderr, "mark:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintln(w, "ack", key)
				w.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
