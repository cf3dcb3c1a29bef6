package object

import (
	"container/list"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warrenhq/warren/runtime/internal/durable"
)

// Config configures a Runtime. The zero value of every field but DataDir is usable.
type Config struct {
	// DataDir holds one SQLite file per object, in sharded folders. Required.
	DataDir string
	// IdleTimeout is how long an object with no events stays in memory before it is
	// evicted. Default DefaultIdleTimeout; negative disables idle eviction.
	IdleTimeout time.Duration
	// MaxOpen bounds the databases open at any moment. An activation that finds them
	// all open evicts the least recently used idle object; if every open object is
	// running a turn, the activation waits in line for one to finish. Default
	// DefaultMaxOpen.
	MaxOpen int
	// MaxQueue bounds the events waiting for one object; beyond it calls fail with
	// ErrOverloaded. Default DefaultMaxQueue.
	MaxQueue int
	// MaxQueuePerAddress bounds what one client address (its IP, an IPv6 address by
	// its /64) has waiting in one object's queue, so that one client cannot fill it for
	// every other: its WebSocket messages beyond it wait (the transport stops reading
	// its sockets: TCP back-pressure), its HTTP requests fail with ErrOverloaded (503).
	// Default MaxQueue/16 (256 with DefaultMaxQueue).
	MaxQueuePerAddress int
	// MaxQueueBytes bounds the bytes of request bodies held by one object's events,
	// queued or running; beyond it requests fail with ErrOverloaded (503), before their
	// body is read when its length is announced. Default DefaultMaxQueueBytes.
	MaxQueueBytes int64
	// MaxQueueBytesTotal bounds the same across all objects. Default
	// DefaultMaxQueueBytesTotal.
	MaxQueueBytesTotal int64
	// MaxQueueDelay fails an event with ErrOverloaded when it waited longer than this
	// before its turn. Default DefaultMaxQueueDelay.
	MaxQueueDelay time.Duration
	// TurnTimeout bounds the wall time of each piece of user code a turn runs: a
	// handler, the constructor, one alarm or schedule handler, the OnCommit callbacks
	// of a batch (as Durable Objects bound each event). At the limit the turn's context
	// is cancelled and the turn fails with ErrTimeout, rolled back, its instance reset.
	// A turn still running a second later (it ignores its context) is abandoned: the
	// object is restarted from storage for its next events. Default DefaultTurnTimeout.
	TurnTimeout time.Duration
	// MaxBatch bounds the turns group-committed in one transaction. Default
	// DefaultMaxBatch.
	MaxBatch int
	// Synchronous is SQLite's synchronous setting: "FULL" (default: a commit survives
	// power loss) or "NORMAL" (WAL: survives a process crash, may lose the last
	// commits on power loss).
	Synchronous string
	// Logger receives the runtime's logs. Default slog.Default().
	Logger *slog.Logger
	// Clock is the source of time. Default: the real clock.
	Clock Clock
	// Placement decides which process runs an object. Default LocalPlacement.
	Placement Placement
	// Committer makes batches durable. Default LocalCommitter.
	Committer Committer
	// Cluster, when set, makes the runtime one node of a cluster (with Placement and
	// Committer; package cluster sets all three). Default nil: a single process.
	Cluster Cluster
	// AlarmRetries is how many times a failing alarm or schedule handler is retried
	// (backoff 2s × 2ⁿ, ±25 % jitter) before the occurrence is dropped. Default
	// DefaultAlarmRetries; negative: no retries.
	AlarmRetries int
	// AlarmJitter returns uniform numbers in [0, 1) for the retry jitter. Default
	// math/rand/v2.Float64.
	AlarmJitter func() float64
	// Sockets bounds WebSockets; see SocketConfig.
	Sockets SocketConfig
	// History, when set, keeps every object's committed states for point-in-time
	// recovery (BookmarkForTime, RestoreBookmark); package history implements it.
	// Default nil: none is kept. Ignored in cluster mode.
	History History
	// CloseTimeout bounds how long Close lets running batches wait on the cluster (a
	// Placement's Acquire, a Committer's Commit, the Cluster's calls) before it
	// cancels the context those calls got: a batch cut off there fails
	// (ErrIndeterminate when its commit's outcome is unknown) and releases nothing.
	// Default DefaultCloseTimeout.
	CloseTimeout time.Duration
}

// The defaults of Config's fields (a zero field gets its default).
const (
	DefaultIdleTimeout        = 10 * time.Second
	DefaultMaxOpen            = 256
	DefaultMaxQueue           = 4096
	DefaultMaxQueueBytes      = 16 << 20  // 16 MiB
	DefaultMaxQueueBytesTotal = 128 << 20 // 128 MiB
	DefaultMaxQueueDelay      = 30 * time.Second
	DefaultTurnTimeout        = 30 * time.Second
	DefaultMaxBatch           = 256
	DefaultAlarmRetries       = 6
	DefaultCloseTimeout       = 5 * time.Second
)

// queueShares is how many client addresses may fill an object's queue at the default
// Config.MaxQueuePerAddress (MaxQueue/queueShares).
const queueShares = 16

// Runtime hosts namespaces of objects in one process. It is safe for concurrent use.
type Runtime struct {
	cfg  Config
	lock *os.File

	mu         sync.Mutex
	namespaces map[string]*nsCore
	objects    map[objectKey]*entity
	idle       *list.List // entities with an open database and no owner, least recently used first
	open       int        // database slots held: databases open or opening (at most MaxOpen)
	queued     int64      // bytes held by the events of all objects (event.bytes, queue.go)
	slotLine   list.List  // entities waiting for a slot, first come first served (slots.go)
	closed     bool
	sweep      Timer

	stats counters
	gens  atomic.Uint64  // instance generations handed out (entity.gen)
	waits waitGraph      // calls between objects in flight, to refuse cycles (waits.go)
	wake  *wakeIndex     // when to wake which object for its alarms (wake.go)
	socks socketRegistry // WebSockets by object; outlives evictions (hibernation)
	work  chan *entity   // hands objects with queued events to idle workers
	// template is an empty object database; new objects start as a copy of it.
	// memTemplate is the same marked for an in-memory database (memoryImage).
	template, memTemplate []byte
	// newFiles writes the files of new objects, their durability shared (inmemory.go).
	newFiles *durable.GroupCreator
	memConns memConns  // connections of in-memory databases for the next objects (memconns.go)
	ops      *opsState // catalogue, per-object metrics, operator namespaces (ops.go)
	// seamCtx is the context of the seams' calls (Placement, Committer, Cluster) made
	// by runners; Close cancels it (stopSeams) after Config.CloseTimeout.
	seamCtx   context.Context
	stopSeams context.CancelFunc
}

type objectKey struct {
	ns  *nsCore
	raw [32]byte
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// New opens (creating if needed) cfg.DataDir, locks it against other processes, and
// returns a Runtime with no namespaces.
func New(cfg Config) (*Runtime, error) {
	if cfg.DataDir == "" {
		return nil, fmt.Errorf("object: Config.DataDir is required")
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxOpen <= 0 {
		cfg.MaxOpen = DefaultMaxOpen
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = DefaultMaxQueue
	}
	if cfg.MaxQueuePerAddress <= 0 {
		cfg.MaxQueuePerAddress = max(cfg.MaxQueue/queueShares, 1)
	}
	if cfg.MaxQueueBytes <= 0 {
		cfg.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if cfg.MaxQueueBytesTotal <= 0 {
		cfg.MaxQueueBytesTotal = DefaultMaxQueueBytesTotal
	}
	if cfg.MaxQueueDelay <= 0 {
		cfg.MaxQueueDelay = DefaultMaxQueueDelay
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.TurnTimeout <= 0 {
		cfg.TurnTimeout = DefaultTurnTimeout
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = DefaultCloseTimeout
	}
	switch cfg.Synchronous {
	case "":
		cfg.Synchronous = "FULL"
	case "FULL", "NORMAL":
	default:
		return nil, fmt.Errorf("object: Config.Synchronous must be FULL or NORMAL, not %q", cfg.Synchronous)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Placement == nil {
		cfg.Placement = LocalPlacement{}
	}
	if cfg.Committer == nil {
		cfg.Committer = LocalCommitter{}
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("object: data directory: %w", err)
	}
	cfg.DataDir = dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("object: data directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	if err := removeTempFiles(dir); err != nil {
		unlockDir(lock)
		return nil, fmt.Errorf("object: data directory: %w", err)
	}
	template, err := newTemplate(dir)
	if err != nil {
		unlockDir(lock)
		return nil, fmt.Errorf("object: data directory: %w", err)
	}
	seamCtx, stopSeams := context.WithCancel(context.Background())
	rt := &Runtime{
		seamCtx:     seamCtx,
		stopSeams:   stopSeams,
		template:    template,
		memTemplate: memoryImage(append([]byte(nil), template...)),
		cfg:         cfg,
		lock:        lock,
		namespaces:  map[string]*nsCore{},
		objects:     map[objectKey]*entity{},
		idle:        list.New(),
		work:        make(chan *entity),
		newFiles:    durable.NewGroupCreator(newFilePattern),
	}
	rt.memConns.start()
	if err := rt.startAlarms(); err != nil {
		rt.newFiles.Close()
		unlockDir(lock)
		return nil, err
	}
	if err := rt.startOps(); err != nil {
		rt.wake.stop()
		rt.wake.close()
		rt.newFiles.Close()
		unlockDir(lock)
		return nil, err
	}
	if cfg.Cluster != nil {
		if err := cfg.Cluster.Start(rt); err != nil {
			rt.Close()
			return nil, fmt.Errorf("object: cluster: %w", err)
		}
	}
	rt.scheduleSweep()
	return rt, nil
}

// Config returns the runtime's configuration with defaults filled in.
func (rt *Runtime) Config() Config { return rt.cfg }

// Logger returns the runtime's logger.
func (rt *Runtime) Logger() *slog.Logger { return rt.cfg.Logger }

// Close waits for running turns to finish, evicts every object and releases the
// data directory. Calls after Close fail with ErrClosed. A batch still waiting on the
// cluster Config.CloseTimeout after Close began is cut off (see CloseTimeout), so
// Close is bounded by that and the turn time limit, whatever the cluster does.
func (rt *Runtime) Close() error {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return nil
	}
	rt.closed = true
	if rt.sweep != nil {
		rt.sweep.Stop()
	}
	rt.wake.stop()
	all := make([]*entity, 0, len(rt.objects))
	for _, e := range rt.objects {
		all = append(all, e)
	}
	waiting := rt.drainSlotLine()
	rt.mu.Unlock()
	for _, e := range waiting {
		rt.startRunner(e) // it fails its events with ErrClosed
	}
	cutOff := time.AfterFunc(rt.cfg.CloseTimeout, rt.stopSeams)
	for _, e := range all {
		e.waitIdle()
		rt.evict(e, true)
		e.endWork() // also for an instance kept without its database
	}
	cutOff.Stop()
	rt.stopSeams()
	if rt.cfg.Cluster != nil {
		rt.cfg.Cluster.Stop()
	}
	rt.wake.close()
	rt.stopOps()
	rt.newFiles.Close()
	rt.memConns.closeAll()
	unlockDir(rt.lock)
	return nil
}

// withSeams returns ctx, also cancelled when Close cuts the seams' calls off (see
// Config.CloseTimeout), for a seam call made with a caller's context.
func (rt *Runtime) withSeams(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(rt.seamCtx, cancel)
	return ctx, func() { stop(); cancel() }
}

// register adds a namespace; see Register.
func (rt *Runtime) register(ns *nsCore) error {
	if !nameRE.MatchString(ns.name) {
		return fmt.Errorf("%w: namespace %q", ErrInvalidName, ns.name)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return ErrClosed
	}
	if _, dup := rt.namespaces[ns.name]; dup {
		return fmt.Errorf("object: namespace %q registered twice", ns.name)
	}
	rt.namespaces[ns.name] = ns
	rt.wake.registered(ns.name)
	return nil
}

// DatabasePath returns the file of an object's database, for tools and tests.
func (rt *Runtime) DatabasePath(namespace string, id ID) string { return rt.dbPath(namespace, id) }

// dbPath is where an object's database lives: DataDir/<namespace>/<2 hex>/<id>.sqlite.
// Only the namespace name (validated) and the ID's hex reach the file system.
func (rt *Runtime) dbPath(ns string, id ID) string {
	s := id.String()
	return filepath.Join(rt.cfg.DataDir, ns, s[:2], s+".sqlite")
}

// dispatch queues ev for the object and starts its runner if none is running.
func (rt *Runtime) dispatch(ns *nsCore, id ID, ev *event) error {
	key := objectKey{ns, id.raw}
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return ErrClosed
	}
	e := rt.objects[key]
	if e == nil {
		e = newEntity(rt, ns, id)
		rt.objects[key] = e
	}
	e.mu.Lock()
	if err := rt.queueFullLocked(e, ev); err != nil {
		e.mu.Unlock()
		rt.mu.Unlock()
		rt.stats.overloaded.Add(1)
		return err
	}
	if ev.bytes > 0 {
		rt.holdQueued(e, ev)
	}
	if ev.addr != "" {
		rt.holdAddr(e, ev)
	}
	if id.has && !e.learned.has {
		e.learned = id // the runner adopts the name (entity.run)
	}
	ev.enqueued = rt.cfg.Clock.Now()
	e.queue = append(e.queue, ev)
	rt.stats.queued.Add(1)
	start := !e.running
	if start {
		e.running = true
		if e.idleElem != nil {
			rt.idle.Remove(e.idleElem)
			e.idleElem = nil
		}
	}
	e.mu.Unlock()
	rt.mu.Unlock()
	if start {
		rt.startRunner(e)
	}
	return nil
}

// startRunner hands e to an idle worker goroutine, or starts one. Workers outlive the
// objects they run for a while so that their stacks, grown deep by SQLite, are reused;
// an idle object still has no goroutine of its own.
func (rt *Runtime) startRunner(e *entity) {
	select {
	case rt.work <- e:
	default:
		go rt.worker(e)
	}
}

func (rt *Runtime) worker(e *entity) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		e.run()
		idle.Reset(workerIdle)
		select {
		case e = <-rt.work:
		case <-idle.C:
			return
		}
	}
}

// workerIdle is how long a worker goroutine waits for more work before it exits.
const workerIdle = 5 * time.Second

func (rt *Runtime) scheduleSweep() {
	if rt.cfg.IdleTimeout < 0 {
		return
	}
	every := rt.cfg.IdleTimeout / 4
	if every < 10*time.Millisecond {
		every = 10 * time.Millisecond
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return
	}
	rt.sweep = rt.cfg.Clock.AfterFunc(every, func() {
		rt.EvictIdle(rt.cfg.IdleTimeout)
		rt.scheduleSweep()
	})
}

// WaitIdle waits until no object has a turn running or queued (events that arrive
// meanwhile are waited for too). Tests use it before forcing eviction.
func (rt *Runtime) WaitIdle() {
	for {
		rt.mu.Lock()
		var busy *entity
		for _, e := range rt.objects {
			e.mu.Lock()
			running := e.running
			e.mu.Unlock()
			if running {
				busy = e
				break
			}
		}
		rt.mu.Unlock()
		if busy == nil {
			return
		}
		busy.waitIdle()
	}
}

// counters are the runtime's metrics; see Stats.
type counters struct {
	turns, failedTurns, commits, failedCommits, committedTurns atomic.Int64
	activations, evictions, overloaded, queued                 atomic.Int64
	maxBatch                                                   atomic.Int64
	alarmRuns, alarmRetries, alarmFailures                     atomic.Int64
	panics, timeouts, abandoned                                atomic.Int64
}

// Stats is a snapshot of the runtime's counters, for metrics endpoints.
type Stats struct {
	Turns          int64 // turns run (events delivered), committed or not
	FailedTurns    int64 // turns that returned an error (but an application Error) or panicked (rolled back, instance reset)
	Commits        int64 // batches committed durably
	FailedCommits  int64 // batches whose commit failed (every turn in them rolled back)
	CommittedTurns int64 // turns in committed batches; CommittedTurns/Commits is the mean batch size
	MaxBatch       int64 // largest batch committed so far
	Activations    int64 // constructor runs
	Evictions      int64 // objects evicted (idle, LRU or forced)
	Overloaded     int64 // events refused with ErrOverloaded
	Objects        int   // objects in memory (running, idle with an open database, or kept for pending State.Go work)
	OpenDatabases  int   // object databases open or being opened: at most Config.MaxOpen
	QueueDepth     int64 // events waiting for their turn, across all objects
	AlarmRuns      int64 // alarm and schedule handler runs, retries included
	AlarmRetries   int64 // handler runs that were retries
	AlarmFailures  int64 // handler runs that failed (each is retried, or dropped after the last retry)
	Panics         int64 // panics recovered (handlers, constructors, OnCommit callbacks, State.Go work); each reset its object
	Timeouts       int64 // user calls (handlers, constructors, callbacks) that ran past Config.TurnTimeout
	Abandoned      int64 // of those, the ones still running after the grace period: their object was restarted
	CatalogWaits   int64 // commits that waited for the catalogue's flusher, which was 65,536 objects behind
}

// Stats returns the current counters.
func (rt *Runtime) Stats() Stats {
	rt.mu.Lock()
	objects, open := len(rt.objects), rt.open
	rt.mu.Unlock()
	return Stats{
		Turns:          rt.stats.turns.Load(),
		FailedTurns:    rt.stats.failedTurns.Load(),
		Commits:        rt.stats.commits.Load(),
		FailedCommits:  rt.stats.failedCommits.Load(),
		CommittedTurns: rt.stats.committedTurns.Load(),
		MaxBatch:       rt.stats.maxBatch.Load(),
		Activations:    rt.stats.activations.Load(),
		Evictions:      rt.stats.evictions.Load(),
		Overloaded:     rt.stats.overloaded.Load(),
		Objects:        objects,
		OpenDatabases:  open,
		QueueDepth:     rt.stats.queued.Load(),
		AlarmRuns:      rt.stats.alarmRuns.Load(),
		AlarmRetries:   rt.stats.alarmRetries.Load(),
		AlarmFailures:  rt.stats.alarmFailures.Load(),
		Panics:         rt.stats.panics.Load(),
		Timeouts:       rt.stats.timeouts.Load(),
		Abandoned:      rt.stats.abandoned.Load(),
		CatalogWaits:   rt.ops.catalog.waits.Load(),
	}
}

// lookupNamespace returns a registered namespace by name.
func (rt *Runtime) lookupNamespace(name string) (*nsCore, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	ns := rt.namespaces[name]
	if ns == nil {
		return nil, fmt.Errorf("%w: namespace %q", ErrNotFound, name)
	}
	return ns, nil
}
