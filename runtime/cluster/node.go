package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config configures a node. Fields marked "shared" must be the same on every node
// of a cluster (the first node records them; Join refuses a node that differs).
type Config struct {
	// Name identifies the node in the cluster: 1 to 64 of [A-Za-z0-9_-]. Required.
	Name string
	// Addr is the address other nodes reach this node's HTTP server at, for routing.
	Addr string
	// Region labels the node for placement hints.
	Region string
	// Replicas of every stream and bucket (shared). Default 3; 1 only for a single
	// server (tests).
	Replicas int
	// LeaseTTL is how long a node's lease lasts without renewal (shared). Left zero,
	// it is the cluster's recorded lease, or DefaultLeaseTTL for a new cluster. It
	// is renewed every LeaseTTL/4.
	LeaseTTL time.Duration
	// LeaseMargin is how long before its lease's end a node stops serving, to absorb
	// clock drift between nodes. Default LeaseTTL/5 (1 s of the default lease).
	LeaseMargin time.Duration
	// LogShards is the number of log streams objects are spread over, to spread the
	// streams' leaders over the servers (shared). Default 16.
	LogShards int
	// SnapshotBytes and SnapshotRecords: an object is snapshotted once this many
	// bytes, or records, were appended to its log since its last snapshot. A restore
	// replays at most that much. Defaults 16 MiB and 1,000.
	SnapshotBytes   int64
	SnapshotRecords int
	// HistoryRetention is how far back an object's log and snapshots are kept for
	// point-in-time recovery (history.go): every HistorySweep, the records before an
	// object's latest snapshot older than HistoryRetention are purged, with the
	// blobs only they pointed at. Default DefaultHistoryRetention (7 days). Negative:
	// no history; a snapshot rolls the log up and deletes the blobs before it at once.
	HistoryRetention time.Duration
	// HistorySweep is how often a node purges the logs past HistoryRetention of the
	// objects it is the preferred node of. Default 1 hour.
	HistorySweep time.Duration
	// Now is the wall clock commit times are recorded on (bookmarks map a moment to
	// a commit by them). Default time.Now.
	Now func() time.Time
	// RequestTimeout bounds one request to JetStream made without a deadline of its
	// own (an append, a blob's chunk, a delete). An append that times out has an
	// unknown outcome (ErrIndeterminate). Default 10 s.
	RequestTimeout time.Duration
	// Clock is the monotonic clock leases are judged on. Default SystemClock().
	Clock Clock
	// Logger receives the node's events. Default: discarded.
	Logger *slog.Logger
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// DefaultLeaseTTL is a new cluster's lease. A dead node's objects move once its
// lease ran out: 3.75 to 5 s after its last renewal; a live node must get a renewal
// through within 4 s of sending the one before (the lease minus its margin).
const DefaultLeaseTTL = 5 * time.Second

func (c Config) withDefaults() (Config, error) {
	if !validName.MatchString(c.Name) {
		return c, fmt.Errorf("%w: node name %q: want 1 to 64 of [A-Za-z0-9_-]", ErrInvalidConfig, c.Name)
	}
	if c.Replicas == 0 {
		c.Replicas = 3
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.LeaseTTL < time.Second {
		return c, fmt.Errorf("%w: LeaseTTL %v is under 1 s", ErrInvalidConfig, c.LeaseTTL)
	}
	if err := c.withLeaseMargin(c.LeaseMargin); err != nil {
		return c, err
	}
	if c.LogShards == 0 {
		c.LogShards = 16
	}
	if c.LogShards < 1 || c.LogShards > 256 {
		return c, fmt.Errorf("%w: LogShards %d: want 1 to 256", ErrInvalidConfig, c.LogShards)
	}
	if c.SnapshotBytes == 0 {
		c.SnapshotBytes = 16 << 20
	}
	if c.SnapshotRecords == 0 {
		c.SnapshotRecords = 1000
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.HistoryRetention == 0 {
		c.HistoryRetention = DefaultHistoryRetention
	}
	if c.HistorySweep <= 0 {
		c.HistorySweep = time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Clock == nil {
		c.Clock = SystemClock()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c, nil
}

// withLeaseMargin sets LeaseMargin to margin, or to its default for LeaseTTL when
// margin is zero, and checks it.
func (c *Config) withLeaseMargin(margin time.Duration) error {
	c.LeaseMargin = margin
	if c.LeaseMargin == 0 {
		c.LeaseMargin = c.LeaseTTL / 5
	}
	if c.LeaseMargin >= c.LeaseTTL/2 {
		return fmt.Errorf("%w: LeaseMargin %v must be under half the LeaseTTL %v", ErrInvalidConfig, c.LeaseMargin, c.LeaseTTL)
	}
	return nil
}

// Node is this process's membership of a cluster: its lease, kept renewed, and the
// objects it has open. A node serves objects only while its lease is valid
// ([Node.Serving]).
type Node struct {
	cfg       Config
	js        jetstream.JetStream
	a         *assets
	lease     *lease
	members   *memberCache
	maxRecord int // larger FRAMES records go through the object store

	stop      context.CancelFunc
	done      chan struct{}
	skipRenew atomic.Bool // tests: renewals are skipped while set
	// failRenew, tests: while set, each renewal fails at once without being sent (as
	// every renewal does while the nodes bucket has no leader); counts them
	failRenew    atomic.Bool
	failedRenews atomic.Int32
	replayed     atomic.Int64 // records read to build a database (restore.go), for tests
	closeOnce    sync.Once
	closeErr     error

	mu   sync.Mutex
	open map[string]bool     // object keys with an open Object
	host *host               // the runtime's seams, once Attach ran
	warm map[string]objState // closed objects whose local file matches their log
}

// Join creates the cluster's assets if needed, registers the node and keeps its
// lease renewed until Close. nc may reach an embedded server ([Server.Connect]) or an
// external cluster (which must run with sync_interval: always and R3, see the
// package doc). ctx bounds the wait for JetStream to be ready.
func Join(ctx context.Context, nc *nats.Conn, cfg Config) (*Node, error) {
	adoptLease, margin := cfg.LeaseTTL == 0, cfg.LeaseMargin
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(cfg.RequestTimeout))
	if err != nil {
		return nil, err
	}
	s := settings{LeaseTTL: cfg.LeaseTTL, Replicas: cfg.Replicas, LogShards: cfg.LogShards}
	a, err := ensureAssets(ctx, js, &s, adoptLease)
	if err != nil {
		return nil, err
	}
	if s.LeaseTTL != cfg.LeaseTTL { // the cluster's, recorded before the default changed
		cfg.LeaseTTL = s.LeaseTTL
		if err := cfg.withLeaseMargin(margin); err != nil {
			return nil, err
		}
	}
	n := &Node{
		cfg: cfg, js: js, a: a,
		lease: &lease{kv: a.nodes, name: cfg.Name, clock: cfg.Clock, ttl: cfg.LeaseTTL, margin: cfg.LeaseMargin,
			self: member{Addr: cfg.Addr, Region: cfg.Region}},
		maxRecord: int(nc.MaxPayload()) - 4096,
		done:      make(chan struct{}),
		open:      map[string]bool{},
		warm:      map[string]objState{},
	}
	if err := n.lease.register(ctx); err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.Background())
	n.stop = stop
	if n.members, err = watchMembersWithin(ctx, runCtx, a.nodes); err != nil {
		stop()
		// Give the lease back: left behind, it would hold the name against this
		// node's next attempt until it ran out.
		lctx, cancel := context.WithTimeout(context.Background(), min(cfg.RequestTimeout, leaveTimeout))
		defer cancel()
		n.lease.leave(lctx)
		return nil, err
	}
	go n.keepLease(runCtx)
	return n, nil
}

// watchMembersWithin starts the members watch (which lives as long as runCtx),
// trying again while ctx lasts: each attempt is one JetStream request bounded by
// the request timeout, which a cluster electing a leader or under load can miss
// for a few seconds, and a join must not fail for that within its own deadline.
func watchMembersWithin(ctx, runCtx context.Context, kv jetstream.KeyValue) (*memberCache, error) {
	wait := 100 * time.Millisecond
	for {
		c, err := startMembersWatch(runCtx, kv)
		if err == nil || ctx.Err() != nil {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// startMembersWatch is watchMembers (a variable for tests).
var startMembersWatch = watchMembers

// keepLease renews the lease every TTL/4, and renewRetry after a renewal that
// failed: while the nodes bucket's stream elects a new leader (its leader's server
// was killed) every renewal fails at once ("no response from stream"), and the lease
// may lapse in the meantime. A lease that lapsed, or was found lost (expired,
// tombstoned), is registered again under a new incarnation (renew): objects opened
// under the old one stay refused, and the node claims them anew when asked.
func (n *Node) keepLease(ctx context.Context) {
	defer close(n.done)
	every := n.cfg.LeaseTTL / 4
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n.skipRenew.Load() {
			t.Reset(every)
			continue
		}
		sent := time.Now()
		err := n.renewOnce(ctx)
		next := every - time.Since(sent)
		if err != nil && ctx.Err() == nil {
			n.cfg.Logger.Warn("cluster: lease renewal failed", "node", n.cfg.Name, "err", err, "serving", n.Serving())
			next = min(next, renewRetry)
		}
		t.Reset(max(next, 0))
	}
}

// renewOnce is one round of keepLease: renew the lease, or register again under a
// new incarnation if it is lost.
func (n *Node) renewOnce(ctx context.Context) error {
	// A slow renewal still counts from when it was sent, if its answer comes before
	// the lease ends (renew): give it until then.
	_, end := n.lease.current()
	rctx, cancel := context.WithTimeout(ctx, max(end-n.cfg.Clock.Now(), time.Millisecond))
	var err error
	if n.failRenew.Load() {
		n.failedRenews.Add(1)
		err = fmt.Errorf("cluster: renew %s: %w (test)", n.cfg.Name, jetstream.ErrNoStreamResponse)
	} else {
		err = n.lease.renew(rctx)
	}
	cancel()
	if errors.Is(err, ErrLeaseExpired) {
		n.cfg.Logger.Warn("cluster: lease lost, registering again", "node", n.cfg.Name, "err", err)
		rctx, cancel := context.WithTimeout(ctx, n.cfg.LeaseTTL-n.cfg.LeaseMargin)
		defer cancel()
		err = n.lease.register(rctx)
	}
	return err
}

// renewRetry is how soon a failed renewal is tried again.
const renewRetry = 250 * time.Millisecond

// leaveTimeout bounds Close's goodbye write (the lease delete): a quorum answers it
// in milliseconds; without one, waiting longer gains nothing.
const leaveTimeout = 2 * time.Second

// Serving reports whether the node's lease is valid now by its monotonic clock.
func (n *Node) Serving() bool { return n.lease.valid("") }

// LeaseTTL is the node's lease, the cluster's (Config.LeaseTTL).
func (n *Node) LeaseTTL() time.Duration { return n.cfg.LeaseTTL }

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Close stops renewing the lease and deletes the node's key, so other nodes may
// claim its objects at once. Objects still open are refused from then on. It
// returns within leaveTimeout of the renewals' end, whether or not the cluster
// answers: the last node of a cluster to stop has no JetStream quorum left to
// acknowledge the delete (and no one to take its objects over); when the delete
// fails, the lease simply runs out. Closing again does nothing.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.stop()
		<-n.done
		ctx, cancel := context.WithTimeout(context.Background(), min(n.cfg.RequestTimeout, leaveTimeout))
		defer cancel()
		n.closeErr = n.lease.leave(ctx)
	})
	return n.closeErr
}

// PreferredNode returns the live node (by the node's cached view) that a rendezvous
// hash prefers for the object: where an unowned object should be claimed.
func (n *Node) PreferredNode(namespace, id string) string {
	return preferredNode(objectKey(namespace, id), n.members.live())
}

// DefaultHistoryRetention is how far back an object's history reaches by default.
const DefaultHistoryRetention = 7 * 24 * time.Hour

// keepsHistory reports whether the node keeps history (HistoryRetention positive).
func (n *Node) keepsHistory() bool { return n.cfg.HistoryRetention > 0 }

// now is the wall clock's time in Unix nanoseconds.
func (n *Node) now() int64 { return n.cfg.Now().UnixNano() }

// objectLog returns the log of an object key.
func (n *Node) objectLog(key string) objectLog {
	st := n.a.logs[logShard(key, len(n.a.logs))]
	return objectLog{js: n.js, stream: st, subject: fmt.Sprintf("%s%d.%s", logSubjectPre, logShard(key, len(n.a.logs)), key)}
}
