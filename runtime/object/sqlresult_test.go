package object_test

import (
	"context"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// TestExecRowsWrittenIsTheStatements: Result.RowsWritten counts what the statement
// itself wrote; a statement that writes no rows (a SELECT, a CREATE, an UPDATE that
// matches nothing) reports 0, not the count of the INSERT before it (SQLite's
// changes() keeps the last INSERT, UPDATE or DELETE's count).
func TestExecRowsWrittenIsTheStatements(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	ns, err := object.Register(rt.Runtime, "store", func(ctx context.Context, st *object.State) (*Named, error) { return &Named{st}, nil })
	if err != nil {
		t.Fatal(err)
	}
	err = ns.RunLocal(context.Background(), ns.GetByName("s"), func(ctx context.Context, n *Named) error {
		q := n.st.SQL()
		for _, c := range []struct {
			query string
			want  int64
		}{
			{`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`, 0},
			{`INSERT INTO t (v) VALUES ('a'), ('b'), ('c')`, 3},
			{`SELECT count(*) FROM t`, 0},
			{`INSERT INTO t (v) VALUES ('d'), ('e')`, 2},
			{`CREATE TABLE u (x)`, 0},
			{`UPDATE t SET v = 'z' WHERE id > 3`, 2},
			{`CREATE INDEX t_v ON t (v)`, 0},
			{`DELETE FROM t WHERE id = 1`, 1},
			{`DROP TABLE u`, 0},
			{`UPDATE t SET v = 'y' WHERE id > 100`, 0},
			{`INSERT INTO t (v) SELECT v FROM t`, 4},
			{`PRAGMA table_info(t)`, 0},
		} {
			res, err := q.Exec(c.query)
			if err != nil {
				t.Fatalf("%s: %v", c.query, err)
			}
			if res.RowsWritten != c.want {
				t.Errorf("%s: RowsWritten %d, want %d", c.query, res.RowsWritten, c.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
