package object_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Egg is a kitchen timer: After on the runtime's clock, stoppable.
type Egg struct {
	st    *object.State
	timer *object.AfterTimer
}

type eggRig struct {
	ns                *object.Namespace[Egg]
	start, stop, fail *object.Method[Egg, struct{}, bool]
	work              *object.Method[Egg, struct{}, bool]
	fired             *atomic.Int64
	workDone          chan error
}

func registerEggs(t *testing.T, rt *objecttest.Runtime) eggRig {
	t.Helper()
	r := eggRig{fired: new(atomic.Int64), workDone: make(chan error, 1)}
	r.start = object.NewMethod("start", func(e *Egg, ctx context.Context, _ struct{}) (bool, error) {
		e.timer = e.st.After(10*time.Second, func(ctx context.Context) error {
			r.fired.Add(1)
			return e.st.Storage().Put("rang", []byte("yes"))
		})
		return true, nil
	})
	r.stop = object.NewMethod("stop", func(e *Egg, ctx context.Context, _ struct{}) (bool, error) {
		return e.timer.Stop(), nil
	})
	r.fail = object.NewMethod("fail", func(e *Egg, ctx context.Context, _ struct{}) (bool, error) {
		return false, errors.New("a failed turn resets the instance")
	})
	r.work = object.NewMethod("work", func(e *Egg, ctx context.Context, _ struct{}) (bool, error) {
		e.st.Go(func(ctx context.Context) func(context.Context) error {
			<-ctx.Done()
			r.workDone <- ctx.Err()
			return nil
		})
		return true, nil
	})
	ns, err := object.Register(rt.Runtime, "egg", func(ctx context.Context, st *object.State) (*Egg, error) { return &Egg{st: st}, nil },
		object.Methods(r.start, r.stop, r.fail, r.work))
	if err != nil {
		t.Fatal(err)
	}
	r.ns = ns
	return r
}

// TestAfterRunsOnTheRuntimeClock pins issue 15 (time): apps' timers were State.Go
// work sleeping with time.Sleep, which a fake clock cannot drive. Now State.After runs
// its function as a turn once the runtime's clock has advanced by d, never before,
// and Stop cancels it.
func TestAfterRunsOnTheRuntimeClock(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	r := registerEggs(t, rt)
	ctx := context.Background()
	egg := r.ns.GetByName("soft")
	if _, err := r.start.Call(ctx, egg, struct{}{}); err != nil {
		t.Fatal(err)
	}
	rt.Clock.Advance(9 * time.Second)
	rt.WaitIdle()
	if n := r.fired.Load(); n != 0 {
		t.Fatalf("fired %d times before its time", n)
	}
	rt.Clock.Advance(time.Second)
	eventually(t, "the After turn", func() bool { return r.fired.Load() == 1 })
	rt.WaitIdle()
	if got := rt.KV(t, "egg", egg.ID())["rang"]; got != "yes" {
		t.Fatalf("the After turn's write: %q", got)
	}

	hard := r.ns.GetByName("hard")
	if _, err := r.start.Call(ctx, hard, struct{}{}); err != nil {
		t.Fatal(err)
	}
	if stopped, err := r.stop.Call(ctx, hard, struct{}{}); err != nil || !stopped {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	rt.Clock.Advance(time.Minute)
	rt.WaitIdle()
	if n := r.fired.Load(); n != 1 {
		t.Fatalf("a stopped timer fired (%d firings)", n)
	}
}

// TestResetCancelsAfterAndGoWork pins issue 15 (time): State.Go work ran with
// context.Background(), so nothing told it that its instance was gone. Now a reset
// instance's pending After is dropped and its Go work's context is cancelled, and so
// is that of work running when the runtime closes.
func TestResetCancelsAfterAndGoWork(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	r := registerEggs(t, rt)
	ctx := context.Background()
	egg := r.ns.GetByName("x")
	if _, err := r.start.Call(ctx, egg, struct{}{}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.work.Call(ctx, egg, struct{}{}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.fail.Call(ctx, egg, struct{}{}); err == nil {
		t.Fatal("the failing turn succeeded")
	}
	select {
	case err := <-r.workDone:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("work's context ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the Go work of a reset instance was not cancelled")
	}
	rt.Clock.Advance(time.Minute)
	rt.WaitIdle()
	if n := r.fired.Load(); n != 0 {
		t.Fatalf("the After of a reset instance fired (%d)", n)
	}

	if _, err := r.work.Call(ctx, r.ns.GetByName("y"), struct{}{}); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { rt.Close(); close(closed) }()
	select {
	case <-r.workDone:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not cancel the running Go work")
	}
	<-closed
}
