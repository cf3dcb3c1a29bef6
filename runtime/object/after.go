package object

import (
	"context"
	"sync"
	"time"
)

// After runs f as a turn of the object once d has passed on the runtime's clock
// (Config.Clock: a fake clock in tests drives it), counted from the commit of the
// current turn (or constructor); if the turn fails, nothing is scheduled. Like State.Go's continuation it
// runs only on the instance that asked for it: if that instance is reset (a failed
// turn) or dropped first, or the runtime closes, it is cancelled. A pending After
// keeps the object in memory (it is not evicted for idleness) until it has run or
// been stopped. An error from f fails that turn (rolled back, instance reset) and is
// logged. For a wake-up that must survive a restart, use SetAlarm or Schedule.
func (st *State) After(d time.Duration, f func(ctx context.Context) error) *AfterTimer {
	if !st.usable() {
		panic("object: After called outside a turn")
	}
	e := st.e
	at := &AfterTimer{e: e}
	gen, ctx := e.gen, e.workContext()
	st.OnCommit(func() { at.arm(d, gen, ctx, f) })
	return at
}

// AfterTimer is a pending State.After.
type AfterTimer struct {
	e       *entity
	mu      sync.Mutex
	t       Timer       // the clock's timer, once the turn committed
	unwatch func() bool // stops watching the instance's context
	stopped bool
	fired   bool
}

// Stop cancels the call if it has not started running; it reports whether it did.
// It takes effect at once, whatever becomes of the current turn.
func (at *AfterTimer) Stop() bool {
	at.mu.Lock()
	defer at.mu.Unlock()
	if at.stopped || at.fired {
		return false
	}
	at.stopped = true
	if at.t != nil && at.t.Stop() {
		at.unwatch()
		at.e.unpin() // armed and not firing: fire will not run
	}
	return true
}

func (at *AfterTimer) arm(d time.Duration, gen uint64, ctx context.Context, f func(context.Context) error) {
	at.mu.Lock()
	defer at.mu.Unlock()
	if at.stopped {
		return
	}
	at.e.pin()
	at.t = at.e.rt.cfg.Clock.AfterFunc(d, func() { at.fire(gen, f) })
	at.unwatch = context.AfterFunc(ctx, func() { at.Stop() })
}

// fire dispatches f as a turn of the instance of generation gen.
func (at *AfterTimer) fire(gen uint64, f func(context.Context) error) {
	e := at.e
	at.mu.Lock()
	stopped := at.stopped
	at.fired = !stopped
	at.mu.Unlock()
	if stopped { // Stop came after the clock fired: its pin is ours to drop
		at.unwatch()
		e.unpin()
		return
	}
	at.unwatch()
	ev := &event{ctx: context.Background(), gen: gen,
		run: func(ctx context.Context, _ any) error { return f(ctx) },
		done: func(err error) {
			e.unpin()
			if err != nil {
				e.rt.cfg.Logger.Warn("object: State.After turn failed", "namespace", e.ns.name, "id", e.hexID(), "err", err)
			}
		}}
	if err := e.rt.dispatch(e.ns, ID{raw: e.key.raw}, ev); err != nil {
		e.unpin()
	}
}

// workContext is the context of the current instance's State.Go work and After
// timers: cancelled when the instance is reset or dropped, or the runtime closes.
func (e *entity) workContext() context.Context {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.work == nil {
		e.work, e.cancelWork = context.WithCancel(context.Background())
	}
	return e.work
}

// endWork cancels the current instance's work context.
func (e *entity) endWork() {
	e.mu.Lock()
	cancel := e.cancelWork
	e.work, e.cancelWork = nil, nil
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}
