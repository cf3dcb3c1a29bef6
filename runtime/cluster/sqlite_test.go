package cluster

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// openObjectDB opens a database the way cluster mode needs the runtime to: WAL mode,
// synchronous=FULL, wal_autocheckpoint=0 (only the committer checkpoints), one
// connection.
func openObjectDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	for _, q := range []string{"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA wal_autocheckpoint=0"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return db
}

func mustExec(t testing.TB, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// commitFunc commits a transaction: directly (plainCommit), or through
// Object.Commit, which calls it and ships what it wrote.
type commitFunc func(commit func() error) error

func plainCommit(commit func() error) error { return commit() }

// workload runs transaction i of a deterministic mix, committing it with commit:
// inserts, updates of existing rows, a large blob that grows the file, and now and
// then deletes followed by a VACUUM that shrinks it.
func workload(t testing.TB, db *sql.DB, i int, commit commitFunc) {
	t.Helper()
	exec := func(q string) func() error {
		return func() error { _, err := db.Exec(q); return err }
	}
	mustExec(t, db, "BEGIN")
	switch {
	case i == 0:
		mustExec(t, db, `CREATE TABLE IF NOT EXISTS kv (k INTEGER PRIMARY KEY, v BLOB NOT NULL)`)
		mustExec(t, db, `CREATE INDEX IF NOT EXISTS kv_v ON kv (v)`)
	case i%11 == 10:
		mustExec(t, db, `DELETE FROM kv WHERE k % 3 = 0`)
		if err := commit(exec("COMMIT")); err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
		if err := commit(exec("VACUUM")); err != nil {
			t.Fatalf("transaction %d (VACUUM): %v", i, err)
		}
		return
	case i%7 == 6:
		mustExec(t, db, `INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)`, 100000+i, bytes.Repeat([]byte{byte(i)}, 40_000+i))
	default:
		for j := range 20 {
			mustExec(t, db, `INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)`, (i*13+j*7)%300, fmt.Appendf(nil, "value %d/%d %s", i, j, bytes.Repeat([]byte("x"), j*10)))
		}
	}
	if err := commit(exec("COMMIT")); err != nil {
		t.Fatalf("transaction %d: %v", i, err)
	}
}

// committedImage returns the database at path as SQLite sees it now, as bytes: a
// copy of the main file and its log in another directory, checkpointed there.
func committedImage(t testing.TB, path string) []byte {
	t.Helper()
	dir := t.TempDir()
	cp := filepath.Join(dir, "image.sqlite")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cp+suffix, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := checkpointTruncate(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tableDump is the content of table kv, for readable comparisons.
func tableDump(t testing.TB, path string) map[int64]string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT k, v FROM kv`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var k int64
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = string(v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
