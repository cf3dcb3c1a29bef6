package object_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Scratch is an object whose SQL comes from its caller, to probe what one object's
// connection can leave for the next.
type Scratch struct{ st *object.State }

func newScratch(_ context.Context, st *object.State) (*Scratch, error) { return &Scratch{st}, nil }

// Probe reports what the object's database shows of other objects (a temp table or
// view named left_behind, and tables named as leave's in its main database), then
// runs leave, all in one turn: the object's first, which runs in memory. It names no
// temp table itself: a connection whose SQL touched one is not reused.
func (s *Scratch) Probe(_ context.Context, leave string) ([2]int64, error) {
	var found [2]int64
	if err := s.st.SQL().QueryRow(`SELECT count(*) FROM left_behind`).Scan(new(int64)); err == nil {
		found[0] = 1
	} else if !strings.Contains(err.Error(), "no such table") {
		return found, err
	}
	if err := s.st.SQL().QueryRow(`SELECT count(*) FROM sqlite_master WHERE name IN ('mine', 'left_behind')`).Scan(&found[1]); err != nil {
		return found, err
	}
	if found != [2]int64{} {
		return found, nil
	}
	_, err := s.st.SQL().Exec(leave)
	return found, err
}

// TestInMemoryConnectionsIsolateObjects: objects that start in memory run on
// connections other objects closed (memConns); nothing of one reaches the next: not
// its tables, not a temp table, trigger or view it made (SQLite keeps the temp
// database per connection), and its rows-written count starts from 0. Many objects
// are created one after another so that each runs on a connection an earlier one
// held.
func TestInMemoryConnectionsIsolateObjects(t *testing.T) {
	rt := objecttest.New(t, object.Config{MaxOpen: 2})
	probe := object.NewMethod("probe", (*Scratch).Probe)
	ns, err := object.Register(rt.Runtime, "scratch", newScratch, object.Methods(probe))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	leaves := []string{
		`CREATE TEMP TABLE left_behind (x); INSERT INTO left_behind VALUES (1)`,
		`CREATE TEMP VIEW left_behind AS SELECT 1 AS x`,
		`CREATE TABLE mine (x); CREATE TEMP TRIGGER left_behind AFTER INSERT ON mine BEGIN SELECT 1; END`,
		`CREATE TABLE temp.left_behind (x)`,
		`CREATE TABLE mine (x); INSERT INTO mine VALUES (1), (2), (3)`,
		`CREATE TABLE mine (x); INSERT INTO mine VALUES (1), (2)`,
		`CREATE TABLE left_behind (x); INSERT INTO left_behind VALUES (1)`,
	}
	for i := range 40 {
		stub := ns.GetByName(fmt.Sprintf("o%d", i))
		found, err := probe.Call(ctx, stub, leaves[i%len(leaves)])
		if found[0] != 0 || found[1] != 0 {
			t.Fatalf("object %d found %d temp tables and %d tables of other objects; want none", i, found[0], found[1])
		}
		if err != nil {
			t.Fatalf("object %d: %v", i, err)
		}
		d, err := rt.Inspect(ctx, "scratch", stub.ID())
		if err != nil || d.Metrics == nil {
			t.Fatalf("object %d: inspect: %v", i, err)
		}
		// Its own: the rows of leave (at most 3 and the temp table's 1) and its name.
		if max := int64(3 + 1 + 1); d.Metrics.RowsWritten > max {
			t.Fatalf("object %d: %d rows written; want at most %d (its own)", i, d.Metrics.RowsWritten, max)
		}
		rt.EvictAll()
	}
}
