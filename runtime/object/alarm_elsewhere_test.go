package object_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// movablePlacement refuses every activation with an ElsewhereError once moved is set
// (the object was taken over by another node), counting the refusals.
type movablePlacement struct {
	moved   atomic.Bool
	refused atomic.Int64
}

func (p *movablePlacement) Acquire(context.Context, string, object.ID) (func(), error) {
	if p.moved.Load() {
		p.refused.Add(1)
		return nil, &object.ElsewhereError{Node: "other", Addr: "other:80"}
	}
	return func() {}, nil
}

// A wake for an object another node now owns drops the object from this runtime's
// wake index: its alarms are the owner's to fire, so it is not retried every 2 s.
func TestWakeOfObjectOwnedElsewhereIsNotRetried(t *testing.T) {
	pl := &movablePlacement{}
	rt := objecttest.New(t, object.Config{Placement: pl})
	rec := &recorder{}
	ns := registerTimer(t, rt.Runtime, rec)
	at := rt.Clock.Now().Add(time.Minute)
	run(t, ns, "moved", func(st *object.State) error { return st.SetAlarm(at) })
	settle(t, rt)
	rt.EvictAll()
	pl.moved.Store(true)
	rt.Clock.Advance(time.Minute)
	eventually(t, "the wake to be refused", func() bool { return pl.refused.Load() == 1 })
	for range 5 {
		settle(t, rt)
		rt.Clock.Advance(5 * time.Second)
	}
	time.Sleep(50 * time.Millisecond)
	settle(t, rt)
	if n := pl.refused.Load(); n != 1 {
		t.Fatalf("the wake was tried %d times, want once", n)
	}
	if len(rec.firings()) != 0 {
		t.Fatal("an alarm fired on a node that does not own its object")
	}
}
