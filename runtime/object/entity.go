package object

import (
	"container/list"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// entity is the runtime's record of one object: its queue, and while it is in memory
// its database and instance. Fields below mu are guarded by the runtime's and the
// entity's locks; fields below "runner-owned" are touched only by the entity's owner
// (lifecycle.go): the goroutine running its turns, or closing its database.
type entity struct {
	rt  *Runtime
	ns  *nsCore
	key objectKey // never changes

	mu        sync.Mutex
	cond      *sync.Cond // broadcast when the entity stops being owned
	id        ID         // with the object's name once known; written only by the owner
	learned   ID         // a named ID an event arrived with, for the owner to adopt
	queue     []*event
	running   bool // owned (lifecycle.go), by a runner, an evictor or the slot line
	idleSince time.Time
	idleElem  *list.Element
	pins      int   // pending Go work or other reasons to stay in memory
	queued    int64 // bytes held by queued and running events (event.bytes)
	// addrQueued counts the HTTP requests of each client address (event.addr) queued
	// or running, against Config.MaxQueuePerAddress.
	addrQueued map[string]int
	// work is the current instance's context for State.Go work and After timers,
	// cancelled by endWork (after.go); made when first needed.
	work       context.Context
	cancelWork context.CancelFunc

	// runner-owned
	db      *sql.DB
	conn    *sql.Conn
	release func()
	slot    bool // holds a database slot (slots.go), from before the database opens until it closes
	inst    any
	gen     uint64 // the instance's generation: unique in the runtime, new on every reset
	// unstoredName: the object was addressed by a name its database does not hold yet.
	unstoredName bool
	memory       memoryPhase // where the open database lives (inmemory.go)
	// persistedCounter: SQLite's file change counter of the in-memory database when
	// it last equalled the file (memCopy, memPersisted)
	persistedCounter uint32
	// memBytes: the in-memory database's size when this batch's commit serialized it
	// (persist); -1 while a batch runs and when not known
	memBytes int64
	// bornBytes: the size of the file this batch's commit created (a new object's
	// first, written whole by persist, with no log beside it); -1 otherwise
	bornBytes int64
	noMemory         bool // a first batch outgrew memory: the next activation starts on a file

	state *State
	hist  ObjectHistory // the activation's history (nil without one)
	// the batch being run, for the watchdog to fail or deliver if it abandons the runner
	batch   []*event
	out     []outcome
	current int         // index in batch of the event whose turn is running
	watch   *time.Timer // the turn time limit's timer (limit.go); its state is call, under mu

	call callWatch // under mu
}

// event is one unit of work for an object: it runs as one turn.
type event struct {
	ctx      context.Context
	enqueued time.Time
	// internal events (alarm wakes, OnClose) are not failed for waiting longer than
	// MaxQueueDelay.
	internal bool
	// mustQueue events (OnClose: at most one per socket) are queued even beyond
	// MaxQueue.
	mustQueue bool
	// wake events run the due alarm handlers, each under its own time limit (fire),
	// rather than the whole turn under one.
	wake bool
	// gen, when non-zero, restricts the event to the instance generation that made it
	// (continuations of State.Go): a reset instance does not receive them.
	gen uint64
	// reset, with gen, drops the instance of that generation (after a panic in its
	// State.Go work) without running a turn.
	reset bool
	// run executes inside the turn.
	run func(ctx context.Context, inst any) error
	// done is called once, after the batch commit, with nil when the turn committed.
	done func(err error)
	// hold, when set, makes the event no turn: the runner closes the database and hands
	// the object to an operator (hold.go) until it is released.
	hold *holdRequest
	// message marks a WebSocket message, for the object's metrics.
	message bool
	// bytes is what the event holds of a client's (a request body) while it waits:
	// counted against Config.MaxQueueBytes and MaxQueueBytesTotal until it is done.
	bytes int64
	// addr is the client address of an HTTP request (clientaddr.Key), counted against
	// Config.MaxQueuePerAddress until the event is done.
	addr string
}

func newEntity(rt *Runtime, ns *nsCore, id ID) *entity {
	e := &entity{rt: rt, ns: ns, key: objectKey{ns, id.raw}, id: id, gen: rt.gens.Add(1), memBytes: -1, bornBytes: -1}
	e.cond = sync.NewCond(&e.mu)
	return e
}

// pinned reports whether the entity has pins; the caller holds e.mu.
func (e *entity) pinned() bool { return e.pins > 0 }

// pin keeps the object in memory (pending State.Go work); unpin undoes one pin.
func (e *entity) pin() {
	e.mu.Lock()
	e.pins++
	e.mu.Unlock()
}

func (e *entity) unpin() {
	e.mu.Lock()
	e.pins--
	last := e.pins == 0
	e.mu.Unlock()
	if last {
		e.rt.unpinned(e)
	}
}

// waitIdle blocks until the entity has no running turn.
func (e *entity) waitIdle() {
	e.mu.Lock()
	for e.running {
		e.cond.Wait()
	}
	e.mu.Unlock()
}

// run is the entity's runner: it drains the queue in batches and exits when it is
// empty, or when the entity waits in line for a database slot.
func (e *entity) run() {
	for {
		e.mu.Lock()
		if e.learned.has && !e.id.has {
			e.id = e.learned
			e.unstoredName = e.db != nil // opened by ID alone: store the name with the next batch
		}
		if len(e.queue) > 0 && e.queue[0].hold != nil {
			e.runHoldLocked()
			continue
		}
		n := batchLen(e.queue, e.rt.cfg.MaxBatch)
		batch := make([]*event, n)
		copy(batch, e.queue)
		rest := copy(e.queue, e.queue[n:])
		clear(e.queue[rest:])
		e.queue = e.queue[:rest]
		e.mu.Unlock()
		e.rt.stats.queued.Add(-int64(n))
		if n > 0 {
			if !e.runBatch(batch) {
				return
			}
			continue
		}
		if e.rt.becameIdle(e) {
			return
		}
	}
}

// outcome is what one turn of a batch produced.
type outcome struct {
	err    error
	outbox []output
	// ctor holds the outputs of a constructor that ran just before this turn: they are
	// released with the batch even if the turn itself fails.
	ctor []output
}

// runBatch runs events as turns inside one transaction (a savepoint each) and commits
// once. Outputs and results are released only after the commit is durable. It reports
// false when it put the batch back to wait in line for a database slot.
func (e *entity) runBatch(batch []*event) bool {
	out := make([]outcome, len(batch))
	skip := make([]bool, len(batch))
	now := e.rt.cfg.Clock.Now()
	live := 0
	for i, ev := range batch {
		switch {
		case ev.ctx.Err() != nil:
			out[i].err = ev.ctx.Err()
		case !ev.internal && now.Sub(ev.enqueued) > e.rt.cfg.MaxQueueDelay:
			e.rt.stats.overloaded.Add(1)
			out[i].err = fmt.Errorf("%w: event waited %v for its turn", ErrOverloaded, now.Sub(ev.enqueued))
		case ev.gen != 0 && ev.gen != e.gen:
			out[i].err = fmt.Errorf("%w: the object was reset before this continuation ran", ErrRetryable)
		case ev.reset:
			e.reset()
		default:
			live++
			continue
		}
		skip[i] = true
	}
	if live == 0 {
		e.deliver(batch, out)
		return true
	}
	if e.db == nil && !e.slot {
		ok, err := e.rt.takeSlot(e)
		if err == nil && !ok {
			e.requeue(batch)
			return false
		}
		if err != nil {
			e.failLive(batch, out, skip, err)
			return true
		}
	}
	hint := ""
	for i, ev := range batch {
		if !skip[i] {
			if hint = placementHint(ev.ctx); hint != "" {
				break
			}
		}
	}
	if err := e.ensureOpen(hint); err != nil {
		e.failLive(batch, out, skip, err)
		return true
	}
	e.batch, e.out = batch, out // until deliver: what the watchdog fails if it abandons the runner
	e.memBytes, e.bornBytes = -1, -1
	ctx := context.Background()
	e.state.guard.txLost = false
	if err := e.exec(ctx, "BEGIN"); err != nil {
		e.abort(batch, out, fmt.Errorf("%w: begin: %v", storageError(err), err), isDiskFull(err))
		return true
	}
	if e.unstoredName {
		if err := e.storeName(ctx); err != nil {
			e.abort(batch, out, fmt.Errorf("%w: store name: %v", ErrRetryable, err), isDiskFull(err))
			return true
		}
	}
	turns := 0
	for i, ev := range batch {
		if skip[i] {
			continue
		}
		if e.inst == nil {
			ctor, err := e.construct(i)
			if err == errAbandoned {
				return false
			}
			out[i].ctor = ctor
			if err != nil {
				if errors.Is(err, errTxLost) {
					e.abort(batch, out, fmt.Errorf("%w: %v", ErrRetryable, err), false)
					return true
				}
				out[i].err = err
				continue
			}
		}
		turns++
		err := e.turn(ctx, i, ev, &out[i])
		if err == errAbandoned {
			return false
		}
		if errors.Is(err, errTxLost) {
			e.abort(batch, out, fmt.Errorf("%w: %v", ErrRetryable, err), false)
			return true
		}
	}
	if err := e.alarmsBeforeCommit(ctx); err != nil {
		e.abort(batch, out, fmt.Errorf("%w: %v", storageError(err), err), isDiskFull(err))
		return true
	}
	if err := e.state.guard.lost(); err != nil {
		e.abort(batch, out, err, false)
		return true
	}
	began := time.Now()
	err := e.rt.cfg.Committer.Commit(e.rt.seamCtx, e.ns.name, e.id, turns, e.commit)
	if err != nil {
		e.abort(batch, out, fmt.Errorf("%w: commit: %v", commitError(err), err), isDiskFull(err))
		return true
	}
	if e.hist != nil && e.state.guard.wrote { // a batch that wrote nothing committed nothing
		e.hist.Committed(e.rt.cfg.Clock.Now())
	}
	e.rt.noteCommit(e, batch, out, turns, time.Since(began))
	e.unstoredName = false
	clear(e.state.undo) // committed: nothing left to undo
	e.state.undo = e.state.undo[:0]
	e.rt.stats.commits.Add(1)
	e.rt.stats.committedTurns.Add(int64(turns))
	for {
		m := e.rt.stats.maxBatch.Load()
		if int64(turns) <= m || e.rt.stats.maxBatch.CompareAndSwap(m, int64(turns)) {
			break
		}
	}
	e.alarmsAfterCommit()
	if !e.deliver(batch, out) {
		return false
	}
	if c := e.rt.cfg.Cluster; c != nil {
		c.BatchDone(e.rt.seamCtx, e.ns.name, e.id)
	}
	if e.hist != nil {
		e.hist.Idle()
	}
	return true
}

// failLive fails the events of batch that were going to run with err.
func (e *entity) failLive(batch []*event, out []outcome, skip []bool, err error) {
	for i := range batch {
		if !skip[i] {
			out[i].err = err
		}
	}
	e.deliver(batch, out)
}

// requeue puts batch back at the head of the queue, in order.
func (e *entity) requeue(batch []*event) {
	e.mu.Lock()
	e.queue = append(batch, e.queue...)
	e.mu.Unlock()
	e.rt.stats.queued.Add(int64(len(batch)))
}

// turn runs event i of the batch inside a savepoint, under the turn time limit (alarm
// wakes limit each handler instead). An error (but an application error, see Error),
// panic or timeout rolls the savepoint back and resets the instance. It returns errTxLost when the transaction itself is
// gone, errAbandoned when the watchdog took the entity over.
func (e *entity) turn(ctx context.Context, i int, ev *event, o *outcome) error {
	if err := e.exec(ctx, "SAVEPOINT turn"); err != nil {
		return fmt.Errorf("%w: savepoint: %v", errTxLost, err)
	}
	e.rt.stats.turns.Add(1)
	st := e.state
	mark := len(st.undo)
	e.current = i
	inst := e.inst // read here: once the watchdog takes a stuck turn over, it resets e.inst
	var err error
	if ev.wake {
		tctx := withTurn(ev.ctx, e)
		st.begin(tctx)
		err = callSafely(func() error { return ev.run(tctx, inst) })
	} else {
		err = e.userCall(withTurn(ev.ctx, e), i, false, func(ctx context.Context) error {
			st.begin(ctx)
			return ev.run(ctx, inst)
		})
	}
	if err == errAbandoned {
		return err
	}
	outbox := st.end()
	if lost := e.checkSQL(ctx, &err); lost != nil {
		return lost
	}
	if keepsTurn(err) {
		if rerr := e.exec(ctx, "RELEASE turn"); rerr != nil {
			return fmt.Errorf("%w: release: %v", errTxLost, rerr)
		}
		o.outbox = outbox
		o.err = err // an application error reaches the caller after the commit
		return nil
	}
	e.rt.stats.failedTurns.Add(1)
	o.err = err
	st.undoTo(mark)
	if perr := (*PanicError)(nil); errors.As(err, &perr) {
		e.rt.stats.panics.Add(1)
		e.rt.cfg.Logger.Error("object: handler panicked", "namespace", e.ns.name, "id", e.id.String(), "panic", sprint(perr.Value), "stack", string(perr.Stack))
	}
	e.reset()
	if rerr := e.exec(ctx, "ROLLBACK TO turn"); rerr != nil {
		return fmt.Errorf("%w: rollback: %v", errTxLost, rerr)
	}
	if rerr := e.exec(ctx, "RELEASE turn"); rerr != nil {
		return fmt.Errorf("%w: release: %v", errTxLost, rerr)
	}
	return nil
}

// commit runs the runtime's COMMIT of the open batch, the only commit sqlGuard lets
// through, and writes the object's file when the batch ran in memory (persist).
func (e *entity) commit() error {
	g := e.state.guard
	g.committing = true
	defer func() { g.committing = false }()
	if err := e.exec(context.Background(), "COMMIT"); err != nil {
		return err
	}
	if e.memory != onFile {
		return e.persist()
	}
	return nil
}

// checkSQL runs when user code in a savepoint (a turn, a constructor, an alarm
// handler) has returned *err, before the savepoint is released or rolled back. It
// returns an errTxLost error when SQLite ended the transaction; otherwise it sets *err
// to errDeferredFK if the code left a deferred foreign-key constraint violated, and
// switches PRAGMA defer_foreign_keys off again if the code set it, so that it does not
// reach the later turns of the batch.
func (e *entity) checkSQL(ctx context.Context, err *error) error {
	g := e.state.guard
	if e.outgrewMemory(ctx, *err) {
		return e.startOnFile()
	}
	if lerr := g.lost(); lerr != nil {
		return fmt.Errorf("%w: %v", errTxLost, lerr)
	}
	if *err == nil {
		var violated bool
		if cerr := e.conn.Raw(func(dc any) (err error) { violated, err = deferredFKs(dc); return err }); cerr != nil {
			return fmt.Errorf("%w: deferred foreign keys: %v", errTxLost, cerr)
		}
		if violated {
			*err = errDeferredFK
		}
	}
	if g.deferFK {
		g.deferFK = false
		if xerr := e.exec(ctx, "PRAGMA defer_foreign_keys=OFF"); xerr != nil {
			return fmt.Errorf("%w: defer_foreign_keys: %v", errTxLost, xerr)
		}
	}
	return nil
}

// construct runs the namespace's constructor in its own savepoint, under the turn time
// limit, before event i of the batch. It returns the constructor's outputs
// (State.OnCommit, State.Go), released after the batch commits.
func (e *entity) construct(i int) ([]output, error) {
	ctx := context.Background()
	if err := e.exec(ctx, "SAVEPOINT init"); err != nil {
		return nil, fmt.Errorf("%w: savepoint: %v", errTxLost, err)
	}
	mark := len(e.state.undo)
	st := e.state
	var inst any
	err := e.userCall(withTurn(ctx, e), i, false, func(ctx context.Context) error {
		st.begin(ctx)
		var err error
		inst, err = e.ns.construct(ctx, st)
		return err
	})
	if err == errAbandoned {
		return nil, err
	}
	outbox := e.state.end()
	if lost := e.checkSQL(ctx, &err); lost != nil {
		return nil, lost
	}
	if err != nil {
		e.rt.stats.failedTurns.Add(1)
		e.countPanic(err)
		e.state.undoTo(mark)
		if rerr := e.exec(ctx, "ROLLBACK TO init"); rerr != nil {
			return nil, fmt.Errorf("%w: rollback: %v", errTxLost, rerr)
		}
		if rerr := e.exec(ctx, "RELEASE init"); rerr != nil {
			return nil, fmt.Errorf("%w: release: %v", errTxLost, rerr)
		}
		return nil, fmt.Errorf("object: constructor of %s: %w", e.ns.name, err)
	}
	if err := e.exec(ctx, "RELEASE init"); err != nil {
		return nil, fmt.Errorf("%w: release: %v", errTxLost, err)
	}
	e.inst = inst
	e.rt.stats.activations.Add(1)
	return outbox, nil
}

// abort rolls back the whole batch, fails every turn that had succeeded with cause,
// resets the instance, and closes the database so the next batch reopens it; but
// when diskFull (the failure was SQLite's, for want of space) it keeps the
// database open once the batch is rolled back: reopening needs room for the log
// and its index (-wal, -shm), so a closed object could not even be read until
// space came back.
func (e *entity) abort(batch []*event, out []outcome, cause error, diskFull bool) {
	e.rt.stats.failedCommits.Add(1)
	e.rt.noteAbort(e, len(batch))
	ctx := context.Background()
	rolledBack := e.exec(ctx, "ROLLBACK") == nil ||
		e.exec(ctx, "BEGIN") == nil && e.exec(ctx, "ROLLBACK") == nil // SQLite had rolled it back itself
	for i := range batch {
		out[i].ctor = nil
		if out[i].err == nil {
			out[i].err = cause
			out[i].outbox = nil
		}
	}
	if e.state != nil {
		e.state.undoTo(0)
	}
	e.reset()
	e.rt.cfg.Logger.Warn("object: batch rolled back", "namespace", e.ns.name, "id", e.id.String(), "err", cause)
	if rolledBack && diskFull && e.memory == onFile { // an in-memory copy that is full moves to its file
		e.state.alarm.exact = false // read the alarms again, as a reopened database would
	} else {
		e.closeDB(false)
	}
	e.deliver(batch, out)
}

// deliver releases outputs and results, in turn order. The outputs (OnCommit callbacks)
// run under the turn time limit, all together. One that panics is recovered, logged and
// counted, and the instance is reset (its memory may be half-updated); the batch stays
// committed and the other callbacks still run. deliver reports false when the
// callbacks were abandoned (the watchdog delivered the results and owns the entity).
func (e *entity) deliver(batch []*event, out []outcome) bool {
	outputs := false
	for i := range out {
		outputs = outputs || len(out[i].ctor) > 0 || len(out[i].outbox) > 0
	}
	if outputs {
		panicked := false
		err := e.userCall(context.Background(), -1, true, func(context.Context) error {
			panicked = e.runOutputs(out)
			return nil
		})
		switch {
		case err == errAbandoned:
			return false
		case err != nil:
			e.rt.cfg.Logger.Error("object: OnCommit callbacks ran past the time limit; resetting the object", "namespace", e.ns.name, "id", e.id.String(), "err", err)
			e.reset()
		case panicked:
			e.reset()
		}
	}
	e.batch, e.out = nil, nil
	for i, ev := range batch {
		if ev.done != nil {
			ev.done(out[i].err)
		}
	}
	return true
}

// runOutputs releases the outputs of a committed batch in turn order, recovering
// panics of OnCommit callbacks; it reports whether one panicked. Frames for sockets
// are staged, and released together once the batch's frames are all staged (and
// before any OnCommit callback runs, so that a callback that blocks holds no socket
// back): every socket can take everything the batch sent it at once, in one write.
// It touches no runner-owned field: if the callbacks are abandoned, the rest still
// run in the stuck goroutine (they are committed outputs).
func (e *entity) runOutputs(out []outcome) (panicked bool) {
	var staged []*WebSocket
	for i := range out {
		for _, outputs := range [2][]output{out[i].ctor, out[i].outbox} {
			for _, o := range outputs {
				if o.f == nil {
					staged = o.stage(staged)
					continue
				}
				staged = releaseSockets(staged)
				if perr := runCallback(o.f); perr != nil {
					panicked = true
					e.rt.stats.panics.Add(1)
					e.rt.cfg.Logger.Error("object: OnCommit callback panicked; resetting the object", "namespace", e.ns.name, "id", e.hexID(), "panic", sprint(perr.Value), "stack", string(perr.Stack))
				}
			}
		}
	}
	releaseSockets(staged)
	return panicked
}

// hexID is the object's ID as hex; unlike e.id, safe to read from any goroutine.
func (e *entity) hexID() string { return hex.EncodeToString(e.key.raw[:]) }

// reset drops the instance; the next event re-runs the constructor. The new
// generation is unique in the runtime, so no continuation of a dropped instance can
// match a later one, of this entity or of a later entity for the same object.
func (e *entity) reset() {
	e.inst = nil
	e.gen = e.rt.gens.Add(1)
	e.endWork() // the dropped instance's State.Go work and After timers
}

// countPanic counts err if it is a recovered panic.
func (e *entity) countPanic(err error) {
	if perr := (*PanicError)(nil); errors.As(err, &perr) {
		e.rt.stats.panics.Add(1)
	}
}

func callSafely(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return f()
}

// runCallback runs f and returns its panic, if any.
func runCallback(f func()) (perr *PanicError) {
	defer func() {
		if v := recover(); v != nil {
			perr = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	f()
	return nil
}

// turnKey marks a context as belonging to a turn of an object (its *entity), for the
// wait-for graph of calls between objects (waits.go).
type turnKey struct{}

func withTurn(ctx context.Context, e *entity) context.Context {
	return context.WithValue(ctx, turnKey{}, e)
}

// callingEntity returns the object whose turn ctx belongs to, or nil outside turns.
func callingEntity(ctx context.Context) *entity {
	e, _ := ctx.Value(turnKey{}).(*entity)
	return e
}
