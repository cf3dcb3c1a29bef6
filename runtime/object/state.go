package object

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// State is an object's view of itself: its ID, storage and outputs. The constructor
// receives it; keep it in the object. Its methods may be called only from the
// object's own turns (the constructor and event handlers), never from another goroutine.
type State struct {
	e      *entity
	conn   *sql.Conn // the object's connection while its database is open
	guard  *sqlGuard
	ctx    context.Context // the running turn's
	inTurn bool
	// dead: the turn using this State was abandoned after its time limit (limit.go); the
	// object runs on with another State, this one refuses everything.
	dead   atomic.Bool
	alarm  alarmState // alarm and schedule bookkeeping (alarm.go)
	outbox []output
	// undo reverses the in-memory effects (socket attachments) of the open batch's
	// turns, newest last: a failed turn undoes its own, an aborted batch all of them.
	undo []func()
	rows []*Rows
	// txDepth is the nesting of the running Transaction calls.
	txDepth int
	stmtMu  sync.Mutex
	stmts   map[string]*sql.Stmt
	ustmts  map[string]*userStmt // user SQL's prepared statements (sqlcache.go)
	// usage counts the rows the object's code read and wrote since its last batch
	// ended, for its per-object metrics (objmetrics.go).
	usage rowUsage
}

// ID returns the object's ID. ID().Name() is its name when it was ever addressed by name.
func (st *State) ID() ID {
	st.e.mu.Lock()
	defer st.e.mu.Unlock()
	return st.e.id
}

// Namespace returns the name of the object's namespace.
func (st *State) Namespace() string { return st.e.ns.name }

// Storage returns the object's key-value storage.
func (st *State) Storage() *Storage { return (*Storage)(st) }

// SQL returns the object's SQL database.
func (st *State) SQL() *SQL { return (*SQL)(st) }

// Now returns the runtime clock's current time.
func (st *State) Now() time.Time { return st.e.rt.cfg.Clock.Now() }

// Logger returns the runtime's logger with the object's namespace and ID attached.
func (st *State) Logger() *slog.Logger {
	return st.e.rt.cfg.Logger.With("namespace", st.e.ns.name, "id", st.e.id.String())
}

// OnCommit runs f after the current turn's writes are durable (the output gate). If
// the turn fails or its commit fails, f never runs. Functions run in the order they
// were registered, on the object's goroutine, and must not block: the callbacks of a
// batch share one turn time limit.
func (st *State) OnCommit(f func()) {
	if !st.usable() {
		panic("object: OnCommit called outside a turn")
	}
	st.outbox = append(st.outbox, output{f: f})
}

// usable reports whether the State may be used now: in one of its object's turns, and
// not abandoned.
func (st *State) usable() bool { return st.inTurn && !st.dead.Load() }

// Go runs slow outside work (an HTTP poll, a call to another object) without holding
// the object's turn. work starts once the current turn (or the constructor) has
// committed, in its own goroutine; the function it returns, if not nil, then runs as a
// new turn of this object. The object stays in memory until that turn has run. If the
// instance was reset in between (a failed turn), the continuation is dropped and
// logged. A panic in work is recovered, logged and counted, and resets the instance.
// work's context is cancelled when the instance is reset or dropped, or the runtime
// closes: work that waits or polls should end then.
func (st *State) Go(work func(ctx context.Context) (then func(ctx context.Context) error)) {
	if !st.usable() {
		panic("object: Go called outside a turn")
	}
	e := st.e
	gen, ctx := e.gen, e.workContext()
	st.OnCommit(func() {
		e.pin()
		go e.runWork(ctx, gen, work)
	})
}

// runWork runs State.Go work for the instance of generation gen, then dispatches its
// continuation, restricted to that generation.
func (e *entity) runWork(ctx context.Context, gen uint64, work func(ctx context.Context) func(ctx context.Context) error) {
	log := e.rt.cfg.Logger.With("namespace", e.ns.name, "id", e.hexID())
	var then func(ctx context.Context) error
	if perr := runCallback(func() { then = work(ctx) }); perr != nil {
		e.rt.stats.panics.Add(1)
		log.Error("object: State.Go work panicked; resetting the object", "panic", sprint(perr.Value), "stack", string(perr.Stack))
		ev := &event{ctx: context.Background(), internal: true, gen: gen, reset: true, done: func(error) { e.unpin() }}
		if err := e.rt.dispatch(e.ns, ID{raw: e.key.raw}, ev); err != nil {
			e.unpin()
		}
		return
	}
	if then == nil {
		e.unpin()
		return
	}
	ev := &event{ctx: context.Background(), gen: gen,
		run: func(ctx context.Context, _ any) error { return then(ctx) },
		done: func(err error) {
			e.unpin()
			if err != nil {
				log.Warn("object: continuation failed", "err", err)
			}
		}}
	if err := e.rt.dispatch(e.ns, ID{raw: e.key.raw}, ev); err != nil {
		e.unpin()
		log.Warn("object: continuation dropped", "err", err)
	}
}

// turnStorage returns st when storage may be used now: inside a turn whose
// transaction is still open.
func (st *State) turnStorage() (*State, error) {
	if !st.usable() {
		return nil, ErrNotInTurn
	}
	if err := st.guard.lost(); err != nil {
		return nil, err
	}
	return st, nil
}

func (st *State) begin(ctx context.Context) {
	st.ctx, st.inTurn = ctx, true
}

// onUndo registers how to reverse an in-memory effect of the running turn.
func (st *State) onUndo(f func()) { st.undo = append(st.undo, f) }

// undoTo reverses the effects registered since mark (a len(st.undo)), newest first.
func (st *State) undoTo(mark int) {
	for i := len(st.undo) - 1; i >= mark; i-- {
		st.undo[i]()
	}
	clear(st.undo[mark:])
	st.undo = st.undo[:mark]
}

// end finishes a turn: it closes rows left open and returns the turn's outputs.
func (st *State) end() []output {
	for _, r := range st.rows {
		st.usage.read += r.read
		r.Close()
	}
	st.rows = st.rows[:0]
	out := st.outbox
	st.outbox, st.inTurn, st.ctx = nil, false, nil
	return out
}

// stmt returns a cached prepared statement of the runtime's own (not user SQL).
func (st *State) stmt(q string) (*sql.Stmt, error) {
	st.stmtMu.Lock()
	defer st.stmtMu.Unlock()
	if s, ok := st.stmts[q]; ok {
		return s, nil
	}
	if st.dead.Load() {
		return nil, ErrNotInTurn
	}
	s, err := st.conn.PrepareContext(context.Background(), q)
	if err != nil {
		return nil, err
	}
	if st.stmts == nil {
		st.stmts = map[string]*sql.Stmt{}
	}
	st.stmts[q] = s
	return s, nil
}

// closeStmts closes the cached statements; SQLite keeps a connection with statements
// open (and its transaction) alive. The watchdog may call it while an abandoned turn
// still runs, hence the lock.
func (st *State) closeStmts() {
	st.stmtMu.Lock()
	defer st.stmtMu.Unlock()
	for _, s := range st.stmts {
		s.Close()
	}
	for _, u := range st.ustmts {
		u.s.Close()
	}
	st.stmts, st.ustmts = nil, nil
}
