package object_test

import (
	"context"
	"errors"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// TestCachedUserSQLKeepsItsGuarantees: user SQL runs from prepared statements kept
// by the object (sqlcache.go). A statement run again in later turns still counts the
// rows it writes, sees a schema changed under it, and a second run of the same text
// while the first one's rows are open reads its own rows; a refused statement stays
// refused on every run.
func TestCachedUserSQLKeepsItsGuarantees(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	ns := registerBox(t, rt.Runtime)
	stub := ns.GetByName("cache")
	ctx := context.Background()
	run := func(f func(st *object.State) error) {
		t.Helper()
		if err := ns.RunLocal(ctx, stub, func(ctx context.Context, b *Box) error { return f(b.st) }); err != nil {
			t.Fatal(err)
		}
	}
	written := func() int64 {
		t.Helper()
		d, err := rt.Inspect(ctx, "box", stub.ID())
		if err != nil || d.Metrics == nil {
			t.Fatalf("inspect: %v", err)
		}
		return d.Metrics.RowsWritten
	}
	run(func(st *object.State) error {
		_, err := st.SQL().Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)`)
		return err
	})
	const insert = `INSERT INTO t(k, v) VALUES(?, ?)`
	for i := 1; i <= 3; i++ {
		before := written()
		run(func(st *object.State) error {
			r, err := st.SQL().Exec(insert, i, "v")
			if err == nil && (r.RowsWritten != 1 || r.LastInsertID != int64(i)) {
				err = errors.New("wrong result")
			}
			return err
		})
		if d := written() - before; d != 1 {
			t.Fatalf("insert %d counted %d rows written, want 1", i, d)
		}
	}
	const byKey = `SELECT * FROM t WHERE k >= ? ORDER BY k`
	run(func(st *object.State) error {
		outer, err := st.SQL().Query(byKey, 1)
		if err != nil {
			return err
		}
		defer outer.Close()
		for want := 1; outer.Next(); want++ {
			var k int
			var v string
			if err := outer.Scan(&k, &v); err != nil || k != want {
				t.Fatalf("outer row %d: k %d, %v", want, k, err)
			}
			var inner int
			if err := st.SQL().QueryRow(byKey, 3).Scan(&inner, &v); err != nil || inner != 3 {
				t.Fatalf("inner query during outer row %d: %d, %v", want, inner, err)
			}
		}
		return outer.Err()
	})
	// An Exec of the same text while its Rows are open must not reset them: it runs
	// a statement of its own, as a second Query does.
	run(func(st *object.State) error {
		outer, err := st.SQL().Query(byKey, 1)
		if err != nil {
			return err
		}
		defer outer.Close()
		want := 1
		for ; outer.Next(); want++ {
			var k int
			var v string
			if err := outer.Scan(&k, &v); err != nil || k != want {
				t.Fatalf("outer row %d after an Exec of its text: k %d, %v", want, k, err)
			}
			if _, err := st.SQL().Exec(byKey, 1); err != nil {
				t.Fatalf("exec during outer row %d: %v", want, err)
			}
		}
		if want != 4 {
			t.Fatalf("outer query read %d rows, want 3", want-1)
		}
		return outer.Err()
	})
	run(func(st *object.State) error {
		if _, err := st.SQL().Exec(`ALTER TABLE t ADD COLUMN w TEXT DEFAULT 'w'`); err != nil {
			return err
		}
		var k int
		var v, w string
		if err := st.SQL().QueryRow(byKey, 2).Scan(&k, &v, &w); err != nil || k != 2 || w != "w" {
			t.Fatalf("after ALTER TABLE: %d %q %q, %v", k, v, w, err)
		}
		return nil
	})
	for range 2 {
		run(func(st *object.State) error {
			if _, err := st.SQL().Exec(`SELECT * FROM _warren_kv`); !errors.Is(err, object.ErrSQLNotAllowed) {
				t.Fatalf("reserved table: %v, want ErrSQLNotAllowed", err)
			}
			return nil
		})
	}
}

// BenchmarkUserSQLInsert is the chat's user SQL for one message: a lookup by key and
// two inserts (the row and its full-text index entry). The ops run 100 to a turn, so
// that the figure is the SQL's, not the turn's.
func BenchmarkUserSQLInsert(b *testing.B) {
	rt := objecttest.New(b, object.Config{Clock: object.SystemClock, Synchronous: "NORMAL"})
	ns := registerBox(b, rt.Runtime)
	stub := ns.GetByName("bench")
	ctx := context.Background()
	run := func(f func(st *object.State) error) {
		if err := ns.RunLocal(ctx, stub, func(ctx context.Context, b *Box) error { return f(b.st) }); err != nil {
			b.Fatal(err)
		}
	}
	run(func(st *object.State) error {
		_, err := st.SQL().Exec(`CREATE TABLE m (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, content TEXT);
			CREATE VIRTUAL TABLE m_fts USING fts5(content, content='')`)
		return err
	})
	i := 0
	one := func(st *object.State) error {
		i++
		var n int
		if err := st.SQL().QueryRow(`SELECT seq FROM m WHERE id=?`, i).Scan(&n); err == nil {
			return errors.New("found")
		}
		if _, err := st.SQL().Exec(`INSERT INTO m(seq, id, content) VALUES(?, ?, ?)`, i, i, "hello there"); err != nil {
			return err
		}
		_, err := st.SQL().Exec(`INSERT INTO m_fts(rowid, content) VALUES(?, ?)`, i, "hello there")
		return err
	}
	b.ResetTimer()
	for left := b.N; left > 0; left -= 100 {
		run(func(st *object.State) error {
			for range min(left, 100) {
				if err := one(st); err != nil {
					return err
				}
			}
			return nil
		})
	}
}
