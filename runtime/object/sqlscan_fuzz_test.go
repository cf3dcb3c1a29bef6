package object

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// FuzzRollbackKeyword checks the scan of user SQL against SQLite itself: any SQL the
// scan lets through, run by the authorizer's rules inside a transaction, must leave
// that transaction open (sqlGuard's rollback and commit hooks would notice otherwise).
func FuzzRollbackKeyword(f *testing.F) {
	for _, s := range []string{
		`INSERT OR ROLLBACK INTO t VALUES ('dup', 1)`,
		`insert/**/or/**/rollback into t values('dup', 1)`,
		`INSERT INTO t VALUES ('dup', 1) ON CONFLICT DO NOTHING`,
		`CREATE TABLE r (k TEXT PRIMARY KEY ON CONFLICT ROLLBACK); INSERT INTO r VALUES (1), (1)`,
		`CREATE TRIGGER tr BEFORE INSERT ON t BEGIN SELECT RAISE(ROLLBACK, 'no'); END; INSERT INTO t VALUES ('x', 1)`,
		`SELECT 'rollback', "rollback", [rollback], ` + "`rollback`" + `, :rollback, @rollback, $rollback -- rollback`,
		`UPDATE OR FAIL t SET v = NULL`,
		`REPLACE INTO t VALUES ('dup', 2)`,
		`INSERT INTO child VALUES (99)`,
		`VACUUM`,
		`PRAGMA defer_foreign_keys = ON; INSERT INTO child VALUES (7)`,
		`x'00' /* rollback */ 'it''s' "a""b"`,
	} {
		f.Add(s)
	}
	ctx := context.Background()
	db, conn, g, err := openDB(ctx, filepath.Join(f.TempDir(), "fuzz.sqlite"), "OFF", nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { conn.Close(); db.Close() })
	g.committing = true // the schema commits as the runtime's own
	if _, err := conn.ExecContext(ctx, `CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
		INSERT INTO t VALUES ('dup', 1);
		CREATE TABLE parent (id INTEGER PRIMARY KEY);
		CREATE TABLE child (p INTEGER REFERENCES parent (id))`); err != nil {
		f.Fatal(err)
	}
	g.committing = false
	f.Fuzz(func(t *testing.T, query string) {
		if rollbackKeyword(query) {
			return // refused before it runs
		}
		g.txLost = false
		if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		qctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		g.user, g.reason = true, ""
		_, err := conn.ExecContext(qctx, query)
		g.user = false
		cancel()
		lost := g.txLost
		conn.ExecContext(ctx, "ROLLBACK")
		if errors.Is(qctx.Err(), context.DeadlineExceeded) {
			return // interrupted: SQLite may roll back an interrupted write, the runtime aborts the batch then
		}
		if lost {
			t.Fatalf("%q ended the transaction (err %v) but the scan let it through", query, err)
		}
	})
}

func TestRollbackKeyword(t *testing.T) {
	for q, want := range map[string]bool{
		`INSERT OR ROLLBACK INTO t VALUES (1)`:           true,
		`insert or RollBack into t values (1)`:           true,
		`SELECT RAISE(ROLLBACK, 'x')`:                    true,
		`SELECT t.rollback FROM t`:                       true, // an unquoted identifier: refused, quote it
		`SELECT 'rollback'`:                              false,
		`SELECT "rollback", [rollback], ` + "`r`":        false,
		`SELECT 1 -- rollback`:                           false,
		`SELECT 1 /* rollback */`:                        false,
		`SELECT :rollback, @rollback, $rollback`:         false,
		`SELECT 'it''s' AS rollbacks`:                    false,
		`SELECT 'unterminated rollback`:                  false,
		`SELECT 1 /* unterminated`:                       false,
		`SELECT x'726f6c6c6261636b'`:                     false,
		`SELECT "a""rollback"`:                           false,
		`SELECT 1e5, 0x1F, 1_000 FROM t`:                 false,
		"SELECT 1;\nINSERT OR ROLLBACK INTO t VALUES(1)": true,
	} {
		if got := rollbackKeyword(q); got != want {
			t.Errorf("rollbackKeyword(%q) = %v, want %v", q, got, want)
		}
	}
}
