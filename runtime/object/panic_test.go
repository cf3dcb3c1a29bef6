package object_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Fragile is an object whose OnCommit callbacks and State.Go work panic on request.
// turns counts the turns its instance has run, so a reset shows as a count back at 1.
type Fragile struct {
	st    *object.State
	turns int
}

type fragileNS struct {
	ns           *object.Namespace[Fragile]
	activations  *atomic.Int64
	commitPanics *object.Method[Fragile, struct{}, int]
	workPanics   *object.Method[Fragile, struct{}, int]
	count        *object.Method[Fragile, struct{}, int]
}

func registerFragile(t *testing.T, rt *object.Runtime) fragileNS {
	t.Helper()
	var activations atomic.Int64
	commitPanics := object.NewMethod("commit-panics", func(f *Fragile, ctx context.Context, _ struct{}) (int, error) {
		f.turns++
		if err := f.st.Storage().Put("written", []byte("yes")); err != nil {
			return 0, err
		}
		f.st.OnCommit(func() {
			var m map[string]int
			m["x"] = 1 // assignment to entry in nil map, as observed
		})
		return f.turns, nil
	})
	workPanics := object.NewMethod("work-panics", func(f *Fragile, ctx context.Context, _ struct{}) (int, error) {
		f.turns++
		f.st.Go(func(ctx context.Context) func(ctx context.Context) error { panic("poll failed") })
		return f.turns, nil
	})
	count := object.NewMethod("count", func(f *Fragile, ctx context.Context, _ struct{}) (int, error) {
		f.turns++
		return f.turns, nil
	})
	ns, err := object.Register(rt, "fragile", func(ctx context.Context, st *object.State) (*Fragile, error) {
		activations.Add(1)
		return &Fragile{st: st}, nil
	}, object.Methods(commitPanics, workPanics, count))
	if err != nil {
		t.Fatal(err)
	}
	return fragileNS{
		ns:           ns,
		activations:  &activations,
		commitPanics: commitPanics,
		workPanics:   workPanics,
		count:        count,
	}
}

// TestOnCommitPanicIsRecovered pins issue 13 item 9 (OnCommit): a panic in an OnCommit
// callback ran without recover and killed the process. Now it is logged and counted,
// the turn stays committed, the object is reset and other objects are unaffected.
// Fails on the code before the fix (the test binary dies with the panic).
func TestOnCommitPanicIsRecovered(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	f := registerFragile(t, rt.Runtime)
	ctx := context.Background()
	stub := f.ns.GetByName("a")
	if n, err := f.count.Call(ctx, stub, struct{}{}); err != nil || n != 1 {
		t.Fatalf("count = %d, %v", n, err)
	}
	if n, err := f.commitPanics.Call(ctx, stub, struct{}{}); err != nil || n != 2 {
		t.Fatalf("the turn whose callback panicked: %d, %v; want 2 and no error (it committed)", n, err)
	}
	if got := rt.KV(t, "fragile", stub.ID())["written"]; got != "yes" {
		t.Fatalf("the committed write is gone: %q", got)
	}
	if p := rt.Stats().Panics; p != 1 {
		t.Fatalf("Stats().Panics = %d, want 1", p)
	}
	if n, err := f.count.Call(ctx, stub, struct{}{}); err != nil || n != 1 || f.activations.Load() != 2 {
		t.Fatalf("after the panic: count %d, %v, %d activations; want a fresh instance (1, 2 activations)", n, err, f.activations.Load())
	}
	if n, err := f.count.Call(ctx, f.ns.GetByName("b"), struct{}{}); err != nil || n != 1 {
		t.Fatalf("another object: %d, %v", n, err)
	}
}

// TestGoWorkPanicIsRecovered pins issue 13 item 9 (State.Go): a panic in State.Go work
// ran in a goroutine without recover and killed the process. Now it is logged and
// counted and resets the object. Fails on the code before the fix (the test binary
// dies with the panic).
func TestGoWorkPanicIsRecovered(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	f := registerFragile(t, rt.Runtime)
	ctx := context.Background()
	stub := f.ns.GetByName("a")
	if n, err := f.workPanics.Call(ctx, stub, struct{}{}); err != nil || n != 1 {
		t.Fatalf("work-panics = %d, %v", n, err)
	}
	eventually(t, "the panic to be counted", func() bool { return rt.Stats().Panics == 1 })
	// The reset is an event of the object's own: the instance that started the work is
	// dropped, and the next turn runs on a new one.
	eventually(t, "the object to be reset", func() bool {
		n, err := f.count.Call(ctx, stub, struct{}{})
		return err == nil && n == 1
	})
	if a := f.activations.Load(); a != 2 {
		t.Fatalf("%d activations, want 2", a)
	}
}
