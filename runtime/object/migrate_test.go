package object_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Archive's schema grows through migrations.
type Archive struct{ st *object.State }

var countArchives = object.NewMethodNoArg("count", func(a *Archive, ctx context.Context) (int, error) {
	var n int
	err := a.st.SQL().QueryRow(`SELECT count(*) FROM items`).Scan(&n)
	return n, err
})

// registerArchive registers Archive with steps; it counts the runs of each step.
func registerArchive(t *testing.T, rt *objecttest.Runtime, runs []*atomic.Int64, steps ...object.Migration) *object.Namespace[Archive] {
	t.Helper()
	counted := make([]object.Migration, len(steps))
	for i, s := range steps {
		counted[i] = func(sql *object.SQL) error { runs[i].Add(1); return s(sql) }
	}
	ns, err := object.Register(rt.Runtime, "archive", func(ctx context.Context, st *object.State) (*Archive, error) {
		return &Archive{st}, object.Migrate(st, counted...)
	}, object.Methods(countArchives))
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// TestMigrateRunsEachStepOnce pins issue 15 (schema migrations): apps re-ran their
// whole schema, copies from old tables included, in every constructor. Now Migrate
// runs each step once per object, in order, keyed by user_version; a later build's new
// step runs alone; a failing step stores nothing; a newer schema is refused.
func TestMigrateRunsEachStepOnce(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	runs := []*atomic.Int64{new(atomic.Int64), new(atomic.Int64), new(atomic.Int64)}
	v1 := []object.Migration{
		object.Statements(`CREATE TABLE items (k TEXT PRIMARY KEY)`),
		object.Statements(`INSERT INTO items VALUES ('a')`, `INSERT INTO items VALUES ('b')`),
	}
	ns := registerArchive(t, rt, runs, v1...)
	ctx := context.Background()
	stub := ns.GetByName("x")
	for range 2 {
		if n, err := countArchives.Call(ctx, stub); err != nil || n != 2 {
			t.Fatalf("count = %d, %v", n, err)
		}
		rt.EvictAll() // the constructor runs again
	}
	if runs[0].Load() != 1 || runs[1].Load() != 1 {
		t.Fatalf("steps ran %d and %d times, want once each", runs[0].Load(), runs[1].Load())
	}

	// A later build appends a step that fails: the constructor fails, nothing stored.
	rt = rt.Restart(t, object.Config{})
	failing := append(v1, func(sql *object.SQL) error {
		if _, err := sql.Exec(`INSERT INTO items VALUES ('c')`); err != nil {
			return err
		}
		return errors.New("half-way")
	})
	ns = registerArchive(t, rt, runs, failing...)
	if _, err := countArchives.Call(ctx, ns.GetByName("x")); err == nil {
		t.Fatal("a failing migration let the constructor succeed")
	}
	rt = rt.Restart(t, object.Config{})
	ns = registerArchive(t, rt, runs, append(v1, object.Statements(`INSERT INTO items VALUES ('d')`))...)
	if n, err := countArchives.Call(ctx, ns.GetByName("x")); err != nil || n != 3 {
		t.Fatalf("after the fixed third step: %d items, %v; want 3 (the failed step's row rolled back)", n, err)
	}
	if runs[0].Load() != 1 || runs[1].Load() != 1 {
		t.Fatalf("the first steps ran again (%d, %d)", runs[0].Load(), runs[1].Load())
	}

	// An older build meets the newer schema.
	rt = rt.Restart(t, object.Config{})
	ns = registerArchive(t, rt, runs, v1...)
	if _, err := countArchives.Call(ctx, ns.GetByName("x")); !errors.Is(err, object.ErrSchemaTooNew) {
		t.Fatalf("an older build: %v, want ErrSchemaTooNew", err)
	}
}
