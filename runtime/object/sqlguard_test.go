package object_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Box is an object for tests that run arbitrary turns against its state.
type Box struct{ st *object.State }

func registerBox(t testing.TB, rt *object.Runtime) *object.Namespace[Box] {
	t.Helper()
	ns, err := object.Register(rt, "box", func(ctx context.Context, st *object.State) (*Box, error) { return &Box{st}, nil })
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// inOneBatch runs turns as one group-commit batch of the object behind stub, in the
// order given, and returns what each caller was told. It holds the object in a turn
// of its own until every other turn is queued behind it.
func inOneBatch(t *testing.T, rt *objecttest.Runtime, ns *object.Namespace[Box], stub object.Stub[Box], turns ...func(st *object.State) error) []error {
	t.Helper()
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	blocker := make(chan error, 1)
	go func() {
		blocker <- ns.RunLocal(ctx, stub, func(ctx context.Context, b *Box) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	before := rt.Stats()
	errs := make([]error, len(turns))
	var wg sync.WaitGroup
	for i, turn := range turns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = ns.RunLocal(ctx, stub, func(ctx context.Context, b *Box) error { return turn(b.st) })
		}()
		deadline := time.Now().Add(10 * time.Second)
		for rt.Stats().QueueDepth != int64(i+1) {
			if time.Now().After(deadline) {
				t.Fatalf("turn %d was not queued", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	close(release)
	wg.Wait()
	if err := <-blocker; err != nil {
		t.Fatalf("blocking turn: %v", err)
	}
	after := rt.Stats()
	if n := (after.Commits + after.FailedCommits) - (before.Commits + before.FailedCommits); n != 2 {
		t.Fatalf("the turns ran in %d batches, want them in one after the blocking one", n-1)
	}
	return errs
}

// putting returns a turn that stores its keys around body, ignoring body's error (as
// careless code does): it is the turn of the audit's reproduction.
func putting(keys [2]string, body func(st *object.State) error) func(st *object.State) error {
	return func(st *object.State) error {
		if err := st.Storage().Put(keys[0], []byte("1")); err != nil {
			return err
		}
		if body != nil {
			body(st)
		}
		return st.Storage().Put(keys[1], []byte("1"))
	}
}

// checkAllOrNothing fails unless every turn that was told it succeeded has both its
// keys stored and every turn told it failed has neither.
func checkAllOrNothing(t *testing.T, kv map[string]string, keys [][2]string, errs []error) {
	t.Helper()
	for i, k := range keys {
		_, a := kv[k[0]]
		_, b := kv[k[1]]
		switch {
		case errs[i] == nil && !(a && b):
			t.Errorf("turn %d was told it committed, but stored %s=%v %s=%v", i, k[0], a, k[1], b)
		case errs[i] != nil && (a || b):
			t.Errorf("turn %d was told %v, yet stored %s=%v %s=%v", i, errs[i], k[0], a, k[1], b)
		}
	}
}

// TestSQLCannotEndTheBatchTransaction pins defect 2 of the runtime audit: INSERT OR
// ROLLBACK (and ON CONFLICT ROLLBACK, RAISE(ROLLBACK)) rolled back the whole batch,
// other callers' turns included, and the rest of the turn ran in autocommit: on main
// before the fix both turns of a batch were told ErrRetryable while a key written
// after the ROLLBACK was stored. Every statement that could end the transaction is now
// refused or fails its own turn only; statements that merely fail (OR FAIL, RAISE(FAIL),
// VACUUM) leave the batch intact.
func TestSQLCannotEndTheBatchTransaction(t *testing.T) {
	cases := []struct {
		stmt    string
		refused bool // with ErrSQLNotAllowed
	}{
		{`INSERT OR ROLLBACK INTO t VALUES ('dup')`, true},
		{`insert /* x */ or/**/rollback into t values ('dup')`, true},
		{`UPDATE OR ROLLBACK t SET k = 'dup' WHERE k = 'other'`, true},
		{`INSERT INTO t VALUES ('dup') ON CONFLICT DO NOTHING; INSERT OR ROLLBACK INTO t VALUES ('dup')`, true},
		{`CREATE TABLE r (k TEXT PRIMARY KEY ON CONFLICT ROLLBACK)`, true},
		{`CREATE TABLE r (k TEXT NOT NULL ON CONFLICT ROLLBACK)`, true},
		{`CREATE TABLE r (k TEXT, UNIQUE (k) ON CONFLICT ROLLBACK)`, true},
		{`CREATE TRIGGER tr BEFORE INSERT ON t BEGIN SELECT RAISE(ROLLBACK, 'no'); END`, true},
		{`ROLLBACK`, true},
		{`PRAGMA journal_mode=DELETE`, true},
		{`INSERT OR FAIL INTO t VALUES ('x'), ('dup')`, false},
		{`INSERT INTO t VALUES ('dup')`, false},
		{`REPLACE INTO t VALUES ('dup')`, false},
		{`INSERT OR IGNORE INTO t VALUES ('dup')`, false},
		{`CREATE TRIGGER tf BEFORE INSERT ON t BEGIN SELECT RAISE(FAIL, 'no'); END; INSERT INTO t VALUES ('y')`, false},
		{`CREATE TRIGGER ta BEFORE INSERT ON t BEGIN SELECT RAISE(ABORT, 'no'); END; INSERT INTO t VALUES ('y')`, false},
		{`VACUUM`, false},
		{`SELECT 'rollback', "t"."k" AS "rollback" FROM t -- rollback`, false},
	}
	for _, c := range cases {
		t.Run(c.stmt, func(t *testing.T) {
			rt := objecttest.New(t, object.Config{})
			ns := registerBox(t, rt.Runtime)
			stub := ns.GetByName("b")
			err := ns.RunLocal(context.Background(), stub, func(ctx context.Context, b *Box) error {
				_, err := b.st.SQL().Exec(`CREATE TABLE t (k TEXT PRIMARY KEY); INSERT INTO t VALUES ('dup'), ('other')`)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var sqlErr error
			keys := [][2]string{{"a1", "a2"}, {"o1", "o2"}, {"c1", "c2"}}
			errs := inOneBatch(t, rt, ns, stub,
				putting(keys[0], nil),
				putting(keys[1], func(st *object.State) error { _, sqlErr = st.SQL().Exec(c.stmt); return sqlErr }),
				putting(keys[2], nil))
			checkAllOrNothing(t, rt.KV(t, "box", stub.ID()), keys, errs)
			for i, err := range errs {
				if err != nil {
					t.Errorf("turn %d failed (%v): a statement of turn 1 reached the others", i, err)
				}
			}
			if got := errors.Is(sqlErr, object.ErrSQLNotAllowed); got != c.refused {
				t.Errorf("Exec = %v; refused %v, want %v", sqlErr, got, c.refused)
			}
		})
	}
}

// TestOldSchemaRollbackAbortsTheBatchHonestly pins the rest of defect 2: a schema made
// before the refusal (a table with ON CONFLICT ROLLBACK, a RAISE(ROLLBACK) trigger)
// still rolls the transaction back. The batch is then aborted, every caller is told
// ErrRetryable and nothing of it is stored: on main before the fix, the writes after the
// ROLLBACK ran in autocommit and were stored although the callers were told "no effect".
func TestOldSchemaRollbackAbortsTheBatchHonestly(t *testing.T) {
	for _, schema := range []string{
		`CREATE TABLE legacy (k TEXT PRIMARY KEY ON CONFLICT ROLLBACK); INSERT INTO legacy VALUES ('dup')`,
		`CREATE TABLE legacy (k TEXT); CREATE TRIGGER veto BEFORE INSERT ON legacy BEGIN SELECT RAISE(ROLLBACK, 'vetoed'); END`,
	} {
		t.Run(schema, func(t *testing.T) {
			rt := objecttest.New(t, object.Config{})
			ns := registerBox(t, rt.Runtime)
			stub := ns.GetByName("old")
			writeSchema(t, rt.DatabasePath("box", stub.ID()), schema)
			keys := [][2]string{{"a1", "a2"}, {"o1", "o2"}, {"c1", "c2"}}
			var sqlErr error
			errs := inOneBatch(t, rt, ns, stub,
				putting(keys[0], nil),
				putting(keys[1], func(st *object.State) error {
					_, sqlErr = st.SQL().Exec(`INSERT INTO legacy VALUES ('dup')`)
					return sqlErr
				}),
				putting(keys[2], nil))
			if sqlErr == nil {
				t.Fatal("the insert did not fail: the schema did not take effect")
			}
			kv := rt.KV(t, "box", stub.ID())
			checkAllOrNothing(t, kv, keys, errs)
			for i, err := range errs {
				if !errors.Is(err, object.ErrRetryable) {
					t.Errorf("turn %d: %v, want ErrRetryable (its transaction was rolled back)", i, err)
				}
			}
			// The object works on: the next turn commits.
			next := putting([2]string{"n1", "n2"}, nil)
			if err := ns.RunLocal(context.Background(), stub, func(ctx context.Context, b *Box) error { return next(b.st) }); err != nil {
				t.Fatal(err)
			}
			if kv := rt.KV(t, "box", stub.ID()); kv["n2"] != "1" {
				t.Errorf("after the aborted batch: %v", kv)
			}
		})
	}
}

// writeSchema creates an object's database file with a schema of its own, as an older
// version of the runtime (or a tool) could have left it.
func writeSchema(t *testing.T, path, schema string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// One connection that waits for a lock instead of failing with SQLITE_BUSY: under
	// -race on a loaded machine this helper saw SQLITE_BUSY from its own pool.
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	defer db.Close()
	if _, err := db.Exec(schema); err != nil {
		t.Fatal(err)
	}
}

// TestDeferredForeignKeyFailsOnlyItsTurn pins defect 8 of the runtime audit: a deferred
// foreign-key violation (a DEFERRABLE INITIALLY DEFERRED constraint, or PRAGMA
// defer_foreign_keys) surfaced only at COMMIT, so on main before the fix every turn of
// the batch failed with it. Now the turn that leaves the violation fails alone, and the
// pragma it set does not reach the turns after it.
func TestDeferredForeignKeyFailsOnlyItsTurn(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	ns := registerBox(t, rt.Runtime)
	stub := ns.GetByName("fk")
	err := ns.RunLocal(context.Background(), stub, func(ctx context.Context, b *Box) error {
		_, err := b.st.SQL().Exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
			CREATE TABLE deferred (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
			CREATE TABLE immediate (p INTEGER REFERENCES parent (id));
			INSERT INTO parent VALUES (1)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string) func(st *object.State) error {
		return func(st *object.State) error { _, err := st.SQL().Exec(q); return err }
	}
	var lateErr error
	keys := [][2]string{{"a1", "a2"}, {"d1", "d2"}, {"p1", "p2"}, {"c1", "c2"}}
	errs := inOneBatch(t, rt, ns, stub,
		putting(keys[0], exec(`INSERT INTO deferred VALUES (1)`)),
		putting(keys[1], exec(`INSERT INTO deferred VALUES (99)`)),
		putting(keys[2], exec(`PRAGMA defer_foreign_keys = ON; INSERT INTO immediate VALUES (99)`)),
		putting(keys[3], func(st *object.State) error {
			_, lateErr = st.SQL().Exec(`INSERT INTO immediate VALUES (98)`)
			return nil
		}))
	checkAllOrNothing(t, rt.KV(t, "box", stub.ID()), keys, errs)
	for i, want := range []bool{false, true, true, false} {
		if failed := errs[i] != nil; failed != want {
			t.Errorf("turn %d: %v; want failed %v", i, errs[i], want)
		} else if failed && !strings.Contains(errs[i].Error(), "FOREIGN KEY") {
			t.Errorf("turn %d: %v, want a FOREIGN KEY error", i, errs[i])
		}
	}
	if lateErr == nil || !strings.Contains(lateErr.Error(), "FOREIGN KEY") {
		t.Errorf("an orphan insert after the PRAGMA's turn: %v, want an immediate FOREIGN KEY error", lateErr)
	}
	var n int
	err = ns.RunLocal(context.Background(), stub, func(ctx context.Context, b *Box) error {
		return b.st.SQL().QueryRow(`SELECT (SELECT count(*) FROM deferred) + (SELECT count(*) FROM immediate)`).Scan(&n)
	})
	if err != nil || n != 1 {
		t.Errorf("child rows = %d, %v; want 1 (the valid one)", n, err)
	}
}
