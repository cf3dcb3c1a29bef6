package object

import (
	"context"
	"fmt"
	"sync"
)

// An operator's hold on one object (delete, restore, a write from the SQL console):
// the object's runner, between two batches, closes the database and waits until the
// operator releases it. While held no turn of the object runs, its file may be
// replaced or removed, and events that arrive wait in its queue (or fail, see
// holdRequest.failQueued). The hold is an event, so it waits its turn behind the
// events queued before it and never interrupts a batch.
//
// A hold owns the object as an activation does: the runner acquires the object's
// Placement for it (after closing the database, which released the activation's)
// and releases it when the operator is done, so that in cluster mode no other
// process runs the object while its file is replaced or removed. A refused
// placement fails the hold; nothing is changed.

// holdRequest is the hand-over between an operator and the object's runner.
type holdRequest struct {
	held    chan struct{} // closed by the runner once the database is closed (or err set)
	release chan struct{} // closed by the operator when it is done
	done    chan struct{} // closed by the runner once the placement is released
	err     error         // set by the runner before held closes: the placement refused the hold
	// failQueued, when set by the operator before release, fails every event still
	// queued at release with it (a deleted object does not run what was sent to it).
	failQueued error
}

// batchLen is how many events from the head of queue go in the next batch: at most
// max, and none past a hold.
func batchLen(queue []*event, max int) int {
	n := min(len(queue), max)
	for i := 0; i < n; i++ {
		if queue[i].hold != nil {
			return i
		}
	}
	return n
}

// runHoldLocked pops the hold at the head of the queue (e.mu held, released here),
// closes the database and blocks until the operator releases the object.
func (e *entity) runHoldLocked() {
	ev := e.queue[0]
	rest := copy(e.queue, e.queue[1:])
	e.queue[rest] = nil
	e.queue = e.queue[:rest]
	e.mu.Unlock()
	e.rt.stats.queued.Add(-1)
	h := ev.hold
	e.closeDB(false)
	ctx, cancel := e.rt.withSeams(ev.ctx)
	releasePlacement, err := e.rt.cfg.Placement.Acquire(e.ns.placementContext(ctx, ""), e.ns.name, e.id)
	cancel()
	if err != nil {
		h.err = fmt.Errorf("object: placement of %s/%s for an operator: %w", e.ns.name, e.id, err)
		close(h.held)
		return
	}
	close(h.held)
	<-h.release
	releasePlacement()
	close(h.done)
	if h.failQueued == nil {
		return
	}
	e.mu.Lock()
	var failed []*event
	kept := e.queue[:0]
	for _, q := range e.queue {
		if q.hold != nil {
			kept = append(kept, q)
		} else {
			failed = append(failed, q)
		}
	}
	clear(e.queue[len(kept):])
	e.queue = kept
	e.mu.Unlock()
	e.rt.stats.queued.Add(-int64(len(failed)))
	for _, q := range failed {
		if q.done != nil {
			q.done(h.failQueued)
		}
	}
}

// hold waits until the object's runner has closed its database and hands it over.
// The caller must call release (once; later calls do nothing), after setting
// failQueued on the returned request if queued events must fail; release returns
// once the hold's placement is released.
func (rt *Runtime) hold(ctx context.Context, ns *nsCore, id ID) (h *holdRequest, release func(), err error) {
	h = &holdRequest{held: make(chan struct{}), release: make(chan struct{}), done: make(chan struct{})}
	var once sync.Once
	giveBack := func() { once.Do(func() { close(h.release) }) }
	release = func() {
		giveBack()
		<-h.done
	}
	ev := &event{ctx: ctx, internal: true, hold: h}
	if err := rt.dispatch(ns, id, ev); err != nil {
		return nil, nil, err
	}
	select {
	case <-h.held:
		if h.err != nil {
			return nil, nil, h.err
		}
		return h, release, nil
	case <-ctx.Done():
		giveBack() // the runner, when it gets there, hands the object straight back
		return nil, nil, fmt.Errorf("object: waiting for %s/%s to be idle: %w", ns.name, id, ctx.Err())
	}
}
