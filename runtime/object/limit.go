package object

import (
	"context"
	"fmt"
	"time"
)

// The turn time limit. Every piece of user code the runner calls (the constructor, a
// handler, one alarm or schedule handler, a batch's OnCommit callbacks) runs under
// Config.TurnTimeout of wall time, watched by one reusable timer per entity:
//
//   - at the limit the call's context is cancelled (cause ErrTimeout), which ends
//     calls to other objects, user SQL and anything else that honours it; the call
//     then fails with ErrTimeout even if it returns nil, and is rolled back;
//   - if it is still running a grace period later (it ignores its context), it is
//     abandoned: the watchdog takes the entity over, fails the batch (or, in the
//     callbacks, delivers its committed results), closes the database under it and
//     hands the entity to a new runner, which starts again from storage. The abandoned
//     goroutine's State is dead: whatever it does later touches no storage, and the
//     runtime code it returns to stops at once (errAbandoned).
//
// So a turn never holds its object, Runtime.Close or a caller longer than the limit
// plus the grace period, whatever the user code does.

// errAbandoned is returned, to the runtime only, by a user call that was abandoned:
// the runner must stop without touching the entity, which the watchdog now owns.
var errAbandoned = fmt.Errorf("object: abandoned after its time limit")

// callWatch is the user call a runner is in, guarded by entity.mu.
type callWatch struct {
	seq       uint64 // which call: a stuck goroutine that returns after being abandoned finds another
	active    bool
	deadline  time.Time
	cancel    context.CancelCauseFunc
	expired   bool // the deadline passed: the context is cancelled
	abandoned bool
	// committed: the call is the batch's OnCommit callbacks, after its commit.
	committed bool
	// stuck is the index in the batch of the event whose turn is running.
	stuck int
}

// abandonGrace is how long a call may run past its limit before it is abandoned.
func (rt *Runtime) abandonGrace() time.Duration {
	return min(rt.cfg.TurnTimeout, time.Second)
}

// userCall runs f, user code of the event at index stuck of the running batch, under
// the turn time limit. It returns f's error (a panic as *PanicError), an error wrapping
// ErrTimeout if the limit passed, or errAbandoned.
func (e *entity) userCall(parent context.Context, stuck int, committed bool, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancelCause(parent)
	seq := e.watchStart(cancel, stuck, committed)
	err := callSafely(func() error { return f(ctx) })
	cancel(nil)
	expired, abandoned := e.watchEnd(seq)
	switch {
	case abandoned:
		return errAbandoned
	case expired:
		e.rt.stats.timeouts.Add(1)
		return fmt.Errorf("%w: %s/%s ran longer than %v", ErrTimeout, e.ns.name, e.id, e.rt.cfg.TurnTimeout)
	}
	return err
}

func (e *entity) watchStart(cancel context.CancelCauseFunc, stuck int, committed bool) uint64 {
	limit := e.rt.cfg.TurnTimeout
	e.mu.Lock()
	seq := e.call.seq + 1
	e.call = callWatch{seq: seq, active: true, deadline: time.Now().Add(limit), cancel: cancel, stuck: stuck, committed: committed}
	if e.watch == nil {
		e.watch = time.AfterFunc(limit, e.watchdog)
	} else {
		e.watch.Reset(limit)
	}
	e.mu.Unlock()
	return seq
}

func (e *entity) watchEnd(seq uint64) (expired, abandoned bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.call.seq != seq || e.call.abandoned {
		return false, true
	}
	expired = e.call.expired
	e.call = callWatch{seq: seq}
	e.watch.Stop()
	return expired, false
}

// watchdog runs when the entity's timer fires: it cancels a call at its deadline and
// abandons it after the grace period. A firing meant for an earlier call (the timer is
// reused) finds the deadline ahead and re-arms.
func (e *entity) watchdog() {
	e.mu.Lock()
	c := &e.call
	if !c.active || c.abandoned {
		e.mu.Unlock()
		return
	}
	now := time.Now()
	if now.Before(c.deadline) {
		e.watch.Reset(c.deadline.Sub(now))
		e.mu.Unlock()
		return
	}
	grace := e.rt.abandonGrace()
	if !c.expired {
		c.expired = true
		c.cancel(ErrTimeout)
		e.watch.Reset(c.deadline.Add(grace).Sub(now))
		e.mu.Unlock()
		return
	}
	if now.Before(c.deadline.Add(grace)) {
		e.watch.Reset(c.deadline.Add(grace).Sub(now))
		e.mu.Unlock()
		return
	}
	c.abandoned = true
	stuck, committed := c.stuck, c.committed
	e.mu.Unlock()
	e.abandon(stuck, committed)
}

// abandon takes over an entity whose runner is stuck in user code past its limit and
// grace: the watchdog now owns it.
func (e *entity) abandon(stuck int, committed bool) {
	rt := e.rt
	rt.stats.timeouts.Add(1)
	rt.stats.abandoned.Add(1)
	rt.cfg.Logger.Error("object: a turn ignored its time limit; abandoning it and restarting the object",
		"namespace", e.ns.name, "id", e.id.String(), "limit", rt.cfg.TurnTimeout)
	batch, out := e.batch, e.out
	e.batch, e.out = nil, nil
	st := e.state
	e.state = nil // the next activation builds a new State; the stuck goroutine keeps the dead one
	if st != nil {
		st.dead.Store(true)
	}
	if e.db != nil {
		e.closeAbandonedDB(st)
	}
	e.reset()
	for i, ev := range batch {
		err := out[i].err
		switch {
		case committed:
		case i == stuck:
			err = fmt.Errorf("%w: %s/%s ran longer than %v and was abandoned", ErrTimeout, e.ns.name, e.id, rt.cfg.TurnTimeout)
		case err == nil:
			err = fmt.Errorf("%w: the batch was rolled back: another of its turns exceeded its time limit", ErrRetryable)
		}
		if ev.done != nil {
			ev.done(err)
		}
	}
	if !committed && len(batch) > 0 {
		rt.stats.failedCommits.Add(1)
	}
	rt.startRunner(e) // the entity is still owned: a runner goes on with its queue, or idles it
}

// closeAbandonedDB closes the database of an abandoned runner, which rolls back its
// open transaction. The close waits for any statement the stuck goroutine is in (its
// context is cancelled, so user SQL is interrupted) and for rows it holds open; past
// the grace period it goes on in the background, and the placement and slot are
// released anyway: the stale connection can no longer commit anything, and the next
// activation's writes wait for its lock (busy timeout) or fail as retryable.
func (e *entity) closeAbandonedDB(st *State) {
	conn, db, release := e.conn, e.db, e.release
	e.db, e.conn, e.release = nil, nil, nil
	closed := make(chan struct{})
	go func() {
		if st != nil {
			st.closeStmts()
		}
		conn.Close()
		db.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(e.rt.abandonGrace()):
		e.rt.cfg.Logger.Error("object: the abandoned turn holds its database; it closes when the turn lets go of it",
			"namespace", e.ns.name, "id", e.id.String())
	}
	release()
	e.rt.releaseSlot(e)
}
