package object_test

import (
	"context"
	"errors"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Tally is the object of the rows-read/written test: a table with a trigger that
// logs every insert, and a KV entry.
type Tally struct{ st *object.State }

func NewLedger(ctx context.Context, st *object.State) (*Tally, error) {
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS t (x INTEGER)`,
		`CREATE TABLE IF NOT EXISTS log (x INTEGER)`,
		`CREATE TRIGGER IF NOT EXISTS t_log AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.x); END`,
	} {
		if _, err := st.SQL().Exec(q); err != nil {
			return nil, err
		}
	}
	return &Tally{st: st}, nil
}

// Insert inserts n rows in one statement (each logged by the trigger), then runs a
// statement that writes no row, then puts one KV entry: 2n+1 rows written.
func (l *Tally) Insert(ctx context.Context, n int) (struct{}, error) {
	_, err := l.st.SQL().Exec(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?) INSERT INTO t (x) SELECT i FROM c`, n)
	if err == nil {
		_, err = l.st.SQL().Exec(`CREATE INDEX IF NOT EXISTS t_x ON t (x)`)
	}
	if err == nil {
		err = l.st.Storage().Put("n", []byte("x"))
	}
	return struct{}{}, err
}

// Read reads every row of t, then the KV entry by Get and by List.
func (l *Tally) Read(ctx context.Context, _ struct{}) (int, error) {
	rows, err := l.st.SQL().Query(`SELECT x FROM t`)
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		n++
	}
	if _, _, err := l.st.Storage().Get("n"); err != nil {
		return 0, err
	}
	_, err = l.st.Storage().List(object.ListOptions{})
	return n, err
}

// Fail inserts n rows and fails: rolled back, but the rows were written.
func (l *Tally) Fail(ctx context.Context, n int) (struct{}, error) {
	if _, err := l.Insert(ctx, n); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, errors.New("deliberate")
}

// TestPerObjectMetricsCountRows pins issue 18's "rows read/written" per object, which
// the first pass did not count: rows written are SQLite's count of changed rows (the
// statement's rows and those its trigger wrote, KV entries, the name row), not the
// stale changes() a statement that writes nothing reports (CREATE INDEX after an
// INSERT of 3 rows "affects" 3); rows read are the rows queries returned and KV entries
// read; a failed turn's rows count (the work was done). Fails on the code before the
// fix (no such fields).
func TestPerObjectMetricsCountRows(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	insert := object.NewMethod("insert", (*Tally).Insert)
	read := object.NewMethod("read", (*Tally).Read)
	fail := object.NewMethod("fail", (*Tally).Fail)
	ns, err := object.Register(rt.Runtime, "tally", NewLedger, object.Methods(insert, read, fail))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stub := ns.GetByName("books")
	metrics := func() object.ObjectMetrics {
		t.Helper()
		d := must(rt.Inspect(ctx, "tally", stub.ID()))
		if d.Metrics == nil {
			t.Fatal("no metrics for the object")
		}
		return *d.Metrics
	}

	must(insert.Call(ctx, stub, 3))
	m := metrics()
	// 3 rows, 3 log rows, the KV entry, and the object's name (stored by its first batch).
	if m.RowsWritten != 3+3+1+1 || m.RowsRead != 0 {
		t.Fatalf("after inserting 3 rows: written %d, read %d; want 8 and 0", m.RowsWritten, m.RowsRead)
	}
	if n := must(read.Call(ctx, stub, struct{}{})); n != 3 {
		t.Fatalf("read %d rows", n)
	}
	m = metrics()
	if m.RowsWritten != 8 || m.RowsRead != 3+1+1 {
		t.Fatalf("after reading: written %d, read %d; want 8 and 5", m.RowsWritten, m.RowsRead)
	}
	if _, err := fail.Call(ctx, stub, 2); err == nil {
		t.Fatal("fail succeeded")
	}
	m = metrics()
	if m.RowsWritten != 8+2+2+1 || m.FailedTurns != 1 {
		t.Fatalf("after a failed turn that wrote 5 rows: written %d, failed turns %d; want 13 and 1", m.RowsWritten, m.FailedTurns)
	}
	// Counting survives the database being closed and reopened (a new connection
	// counts its changes from 0).
	rt.EvictAll()
	must(insert.Call(ctx, stub, 1))
	if m = metrics(); m.RowsWritten != 13+3 {
		t.Fatalf("after an eviction and 1 more row: written %d, want 16", m.RowsWritten)
	}
}
