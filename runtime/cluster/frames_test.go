package cluster

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// replicaFile starts a file that pageSets are applied to, as a restoring node does.
func replicaFile(t testing.TB) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "replica.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// applyAndRead applies ps (if it changes anything) to f and returns f's content.
func applyAndRead(t testing.TB, f *os.File, ps *pageSet) []byte {
	t.Helper()
	if !ps.empty() {
		if err := ps.apply(f); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Applying what the cursor reads after every commit to a copy of the first image
// reproduces the database byte for byte, through inserts, updates, a file that grows
// and shrinks (VACUUM), and a checkpoint that restarts the log.
func TestWALCursorShipsEveryCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "obj.sqlite")
	db := openObjectDB(t, path)
	workload(t, db, 0, plainCommit)
	var cur walCursor
	base, err := cur.fullImage(path)
	if err != nil {
		t.Fatal(err)
	}
	replica := replicaFile(t)
	if err := base.apply(replica); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 24; i++ {
		if i == 12 { // what a snapshot does after shipping: checkpoint, then expect a new log
			if ok, err := checkpointTruncate(context.Background(), path); err != nil || !ok {
				t.Fatalf("checkpoint: %v %v", ok, err)
			}
			cur.reset()
		}
		workload(t, db, i, plainCommit)
		ps, err := cur.readCommitted(path)
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
		if ps.empty() {
			t.Fatalf("transaction %d: no frames read", i)
		}
		if got, want := applyAndRead(t, replica, ps), committedImage(t, path); !bytes.Equal(got, want) {
			t.Fatalf("transaction %d: replica (%d bytes) differs from the database (%d bytes)", i, len(got), len(want))
		}
	}
	if err := integrityCheck(context.Background(), replica.Name()); err != nil {
		t.Fatal(err)
	}
	if again, err := cur.readCommitted(path); err != nil || !again.empty() {
		t.Fatalf("nothing new committed, read %v, %v", again, err)
	}
}

// Pins the silent-loss hazard of a log restarted behind the committer's back: with
// SQLite's default wal_autocheckpoint, a commit over 1000 pages is checkpointed and
// the next one restarts the log, and the cursor must say so instead of reading the
// new log as if nothing happened in between.
func TestWALRestartOutsideCommitterIsDetected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "obj.sqlite")
	db := openObjectDB(t, path)
	mustExec(t, db, "PRAGMA wal_autocheckpoint=1000")
	mustExec(t, db, `CREATE TABLE big (v BLOB)`)
	var cur walCursor
	if _, err := cur.readCommitted(path); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `INSERT INTO big VALUES (?)`, bytes.Repeat([]byte{1}, 5<<20)) // >1000 pages: checkpointed
	if _, err := cur.readCommitted(path); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `INSERT INTO big VALUES (x'02')`) // restarts the log
	if _, err := cur.readCommitted(path); !errors.Is(err, errWALRestarted) {
		t.Fatalf("got %v, want errWALRestarted", err)
	}
}

// Frames after the last commit frame (a torn or unfinished transaction) are not
// shipped, and the cursor stays at the last commit so they are read once complete.
func TestWALCursorStopsAtLastCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "obj.sqlite")
	db := openObjectDB(t, path)
	workload(t, db, 0, plainCommit)
	var cur walCursor
	if _, err := cur.readCommitted(path); err != nil {
		t.Fatal(err)
	}
	at := cur.offset
	workload(t, db, 1, plainCommit)
	wal, err := os.ReadFile(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	torn := cur
	ps, err := torn.decode(wal[:len(wal)-100])
	if err != nil || !ps.empty() || torn.offset != at {
		t.Fatalf("torn commit: %d pages, offset %d (want %d), %v", len(ps.pages), torn.offset, at, err)
	}
	ps, err = torn.decode(wal)
	if err != nil || ps.empty() || torn.offset != int64(len(wal)) {
		t.Fatalf("whole commit: %d pages, offset %d of %d, %v", len(ps.pages), torn.offset, len(wal), err)
	}
}

// FuzzWALDecode checks the decoder against SQLite's own recovery: for any log bytes
// beside a database, applying what the decoder accepts to the database gives the
// same bytes as SQLite checkpointing that log into it, and that database passes
// integrity_check.
func FuzzWALDecode(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.sqlite")
	db := openObjectDB(f, path)
	workload(f, db, 0, plainCommit)
	if _, err := checkpointTruncate(context.Background(), path); err != nil {
		f.Fatal(err)
	}
	base, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		workload(f, db, i, plainCommit)
	}
	wal, err := os.ReadFile(path + "-wal")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(wal)
	f.Add(wal[:len(wal)*2/3])
	f.Add(wal[:walHeaderSize])
	f.Fuzz(func(t *testing.T, wal []byte) {
		dir := t.TempDir()
		theirs := filepath.Join(dir, "sqlite.sqlite")
		if err := os.WriteFile(theirs, base, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(theirs+"-wal", wal, 0o644); err != nil {
			t.Fatal(err)
		}
		var cur walCursor
		ps, err := cur.decode(wal)
		if err != nil {
			t.Fatalf("fresh cursor: %v", err)
		}
		ours := replicaFile(t)
		if _, err := ours.Write(base); err != nil {
			t.Fatal(err)
		}
		if got, want := applyAndRead(t, ours, ps), committedImage(t, theirs); !bytes.Equal(got, want) {
			t.Fatalf("decoder accepted %d pages (size %d); the result (%d bytes) differs from SQLite's (%d bytes)", len(ps.pages), ps.dbSize, len(got), len(want))
		}
		if err := integrityCheck(context.Background(), ours.Name()); err != nil {
			t.Fatal(err)
		}
	})
}
