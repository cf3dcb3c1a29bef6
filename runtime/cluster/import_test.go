package cluster

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"
)

// Import: a single-node file (commits still in its -wal) becomes the object's first
// snapshot; a second import of the same file changes nothing and succeeds (resume);
// another node restores exactly the file's content; once the cluster changed the
// object, importing the old file is a conflict; a corrupt file imports nothing.
func TestImport(t *testing.T) {
	c := sharedCluster(t)
	n := join(t, c, 0, testConfig("importer"))
	ctx := testContext(t)
	src := filepath.Join(t.TempDir(), "single.sqlite")
	db := openObjectDB(t, src)
	for i := range 12 {
		workload(t, db, i, plainCommit)
	}
	mustExec(t, db, `CREATE TABLE _warren_alarms (name TEXT PRIMARY KEY, spec TEXT NOT NULL, payload BLOB, due INTEGER NOT NULL, scheduled INTEGER NOT NULL, retries INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID`)
	mustExec(t, db, `INSERT INTO _warren_alarms VALUES ('', 'at', NULL, 7000, 7000, 0), ('daily', 'every', NULL, 9000, 9000, 0)`)
	want := tableDump(t, src)
	if st, err := os.Stat(src + "-wal"); err != nil || st.Size() == 0 {
		t.Fatalf("the source's commits should be in its -wal: %v", err)
	}
	db.Close()
	srcBytes, _ := os.ReadFile(src)

	imported, err := n.Import(ctx, "imp", "one", src, t.TempDir())
	if err != nil || !imported {
		t.Fatalf("Import: %v, %v", imported, err)
	}
	if kinds := restoreRecords(t, n, "imp", "one"); string(kinds) != string([]byte{kindSnap}) {
		t.Fatalf("a restore after the import reads %q, want one SNAP", kinds)
	}
	// The bucket's reads may be served by a replica a moment behind the write.
	var e jetstream.KeyValueEntry
	waitFor(t, 5*time.Second, "the imported object's alarm in the alarms bucket", func() bool {
		e, err = n.a.alarms.Get(ctx, objectKey("imp", "one"))
		return err == nil
	})
	var entry alarmEntry
	if json.Unmarshal(e.Value(), &entry) != nil || entry != (alarmEntry{Namespace: "imp", ID: "one", Due: 7000}) {
		t.Fatalf("alarm entry after the import: %+v (%v), want due 7000", entry, err)
	}
	imported, err = n.Import(ctx, "imp", "one", src, t.TempDir())
	if err != nil || imported {
		t.Fatalf("Import again: %v, %v; want false, nil", imported, err)
	}
	if b, _ := os.ReadFile(src); !cmp.Equal(b, srcBytes) {
		t.Fatal("Import changed its source file")
	}

	// The importer leaves; another node owns and restores the object.
	n.Close()
	other := join(t, c, 1, testConfig("import-other"))
	a := activate(t, other, "imp", "one")
	if got := tableDump(t, a.path); !cmp.Equal(got, want) {
		t.Fatalf("restored on another node: %s", cmp.Diff(want, got))
	}
	if err := a.commitSQL(t, `INSERT INTO kv (k, v) VALUES (100000, 'changed in the cluster')`); err != nil {
		t.Fatal(err)
	}
	a.close(t)
	if _, err := other.Import(ctx, "imp", "one", src, t.TempDir()); !errors.Is(err, ErrImportConflict) {
		t.Fatalf("importing the old file over a changed object: %v, want ErrImportConflict", err)
	}

	bad := filepath.Join(t.TempDir(), "bad.sqlite")
	os.WriteFile(bad, append([]byte("SQLite format 3\x00"), make([]byte, 4096)...), 0o644)
	if _, err := other.Import(ctx, "imp", "bad", bad, t.TempDir()); err == nil {
		t.Fatal("a corrupt file imported")
	}
	if ok, err := other.objectLog(objectKey("imp", "bad")).hasDatabase(ctx); err != nil || ok {
		t.Fatalf("the corrupt file left a database in the log: %v %v", ok, err)
	}
}
