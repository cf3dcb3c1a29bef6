package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/warrenhq/warren/runtime/object"
)

// Attach makes a runtime configured with cfg one node of the cluster: it sets
// cfg's Placement, Committer and Cluster seams (and Synchronous to NORMAL when
// unset: the cluster's log, not the local file, makes a commit durable), so that
// object.New(cfg) then serves objects through this node. One Node serves one
// runtime. Guarantees, on top of the package's:
//
//   - An object is activated only after this node claimed it, fenced its log and
//     restored its file (Node.Open); an object another live node owns, or that a
//     placement hint sends to a node of another region, is refused with an
//     *object.ElsewhereError naming that node.
//   - Every committed batch is appended to the object's log (one fenced append per
//     batch) before its outputs are released. A batch whose append was refused fails
//     with object.ErrRetryable, one whose append went unanswered with
//     object.ErrIndeterminate; either way the instance is dropped and the database
//     closed, and the next activation restores the file from the log.
//   - While the node's lease is not valid, no batch commits and no object
//     activates (object.ErrRetryable); when it lapses, idle objects are closed and
//     WebSockets closed (1012) so that clients reconnect to another node. A lapsed
//     lease is never renewed: the node registers again under a new incarnation, and
//     no instance opened under the old one serves again (the next batch of a turn
//     held across the lapse, of a pinned instance or of a socket is refused, and the
//     instance dropped); the node claims such objects anew when asked, reusing its
//     own file when the log has nothing newer.
//   - An RPC to an object another node owns is sent to that node (Invoke).
//   - Alarms are recorded in the cluster (alarms.go): after a failover, the node
//     that takes an object over wakes it.
func (n *Node) Attach(cfg *object.Config) {
	h := &host{n: n, open: map[string]*active{}, stopped: make(chan struct{})}
	n.mu.Lock()
	n.host = h
	n.mu.Unlock()
	cfg.Placement = h
	cfg.Committer = h
	cfg.Cluster = h
	if cfg.Synchronous == "" {
		cfg.Synchronous = "NORMAL"
	}
}

// host implements the runtime's seams for one node.
type host struct {
	n *Node

	mu   sync.Mutex
	rt   *object.Runtime
	open map[string]*active // by hostKey

	sub      *nats.Subscription // RPC requests to this node (rpc.go)
	stats    historyStats
	stopOnce sync.Once
	stopped  chan struct{}
	done     sync.WaitGroup
}

// active is an object activated on this node.
type active struct {
	obj *Object
	// the alarm entry this activation last wrote to the cluster (alarms.go)
	alarmKnown, alarmHas bool
	alarmDue             time.Time
	// pending: the entry the last commit left, written after its outputs (BatchDone)
	pending       bool
	pendingHas    bool
	pendingDue    time.Time
	namespace, id string
}

func hostKey(namespace string, id object.ID) string { return namespace + "/" + id.String() }

// openTimeout bounds an activation (claim, fence, restore) on the cluster.
func (h *host) openTimeout() time.Duration { return 3 * h.n.cfg.RequestTimeout }

// Start is called by object.New.
func (h *host) Start(rt *object.Runtime) error {
	h.mu.Lock()
	h.rt = rt
	h.mu.Unlock()
	if err := h.startRPC(); err != nil {
		return err
	}
	h.done.Add(3)
	go h.watchLease()
	go h.scanAlarms()
	go h.sweepHistory()
	return nil
}

// Stop is called by Runtime.Close, once every object is closed.
func (h *host) Stop() {
	h.stopOnce.Do(func() {
		close(h.stopped)
		if h.sub != nil {
			h.sub.Drain()
		}
	})
	h.done.Wait()
}

// Acquire claims, fences and restores the object before the runtime opens its file.
func (h *host) Acquire(ctx context.Context, namespace string, id object.ID) (func(), error) {
	h.mu.Lock()
	rt := h.rt
	h.mu.Unlock()
	if rt == nil {
		return nil, fmt.Errorf("%w: cluster node not started", object.ErrRetryable)
	}
	if !h.n.Serving() {
		return nil, fmt.Errorf("%w: %w", object.ErrRetryable, ErrLeaseExpired)
	}
	ctx, cancel := context.WithTimeout(ctx, h.openTimeout())
	defer cancel()
	if to, err := h.n.placeByRegion(ctx, namespace, id.String(), object.PreferredRegion(ctx)); err != nil || to != nil {
		if err != nil {
			return nil, fmt.Errorf("%w: %w", object.ErrRetryable, err)
		}
		return nil, to
	}
	obj, err := h.n.Open(ctx, namespace, id.String(), rt.DatabasePath(namespace, id))
	if err != nil {
		return nil, h.openError(err)
	}
	key := hostKey(namespace, id)
	a := &active{obj: obj, namespace: namespace, id: id.String()}
	h.mu.Lock()
	h.open[key] = a
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.open, key)
		h.mu.Unlock()
		obj.Close()
	}, nil
}

// openError maps an error of Node.Open to what the runtime's callers act on.
func (h *host) openError(err error) error {
	var owned *OwnedError
	switch {
	case errors.As(err, &owned):
		return h.n.elsewhere(owned.Owner.Node, owned.Addr)
	case errors.Is(err, ErrCorrupt):
		return fmt.Errorf("%w: %w", object.ErrCorrupt, err)
	default:
		return fmt.Errorf("%w: %w", object.ErrRetryable, err)
	}
}

// elsewhere returns the ElsewhereError for node, its address from the member cache
// when addr is unknown.
func (n *Node) elsewhere(node, addr string) *object.ElsewhereError {
	if addr == "" {
		if m, ok := n.members.get(node); ok {
			addr = m.Addr
		}
	}
	return &object.ElsewhereError{Node: node, Addr: addr}
}

// Commit ships the batch through the object's log before the runtime releases its
// outputs.
func (h *host) Commit(ctx context.Context, namespace string, id object.ID, turns int, commit func() error) error {
	h.mu.Lock()
	a := h.open[hostKey(namespace, id)]
	h.mu.Unlock()
	if a == nil {
		return fmt.Errorf("%w: %s/%s is not activated on this node", object.ErrRetryable, namespace, id)
	}
	var committed bool
	var commitErr error
	err := a.obj.Commit(ctx, func() error {
		committed = true
		commitErr = commit()
		return commitErr
	})
	switch {
	case err == nil:
		return nil
	case committed && err == commitErr:
		return err // SQLite's own failure: the runtime maps it
	case errors.Is(err, ErrIndeterminate):
		return fmt.Errorf("%w: %w", object.ErrIndeterminate, err)
	default:
		// Refused before the commit (the lease), or the append was refused (fenced):
		// nothing of the batch is durable in the cluster.
		return fmt.Errorf("%w: %w", object.ErrRetryable, err)
	}
}

// BatchDone runs after a batch's outputs were released: the alarm entry the batch
// left, and a snapshot when one is due.
func (h *host) BatchDone(ctx context.Context, namespace string, id object.ID) {
	h.mu.Lock()
	a := h.open[hostKey(namespace, id)]
	h.mu.Unlock()
	if a == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, h.openTimeout())
	defer cancel()
	h.flushAlarm(ctx, a)
	if a.obj.SnapshotDue() {
		if err := a.obj.Snapshot(ctx); err != nil {
			h.n.cfg.Logger.Warn("cluster: snapshot failed", "namespace", namespace, "id", id.String(), "err", err)
		}
	}
}

// Exists reports whether the object's log holds a database: at once when the
// object is open here or its file is on this node's disk (objects are never
// deleted in cluster mode), else by reading its log.
func (h *host) Exists(namespace string, id object.ID) bool {
	h.mu.Lock()
	_, open := h.open[hostKey(namespace, id)]
	rt := h.rt
	h.mu.Unlock()
	if open {
		return true
	}
	if rt != nil {
		if _, err := os.Lstat(rt.DatabasePath(namespace, id)); err == nil {
			return true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.n.cfg.RequestTimeout)
	defer cancel()
	ok, err := h.n.objectLog(objectKey(namespace, id.String())).hasDatabase(ctx)
	if err != nil {
		h.n.cfg.Logger.Warn("cluster: exists", "namespace", namespace, "id", id.String(), "err", err)
		return true // unknown: let the activation decide (it fails if the cluster is down)
	}
	return ok
}

// leaseCheck is how often the node checks that its lease is still valid.
const leaseCheck = 100 * time.Millisecond

// watchLease closes idle objects and sockets when the lease lapses, or when the node
// registered again under a new incarnation (a lapse and the registration after it can
// fall between two checks): nothing may be served from them. A running turn's commit,
// and every batch of an instance kept open (pinned), is refused by Object.Commit: the
// incarnation it was opened under never becomes valid again.
func (h *host) watchLease() {
	defer h.done.Done()
	t := time.NewTicker(leaseCheck)
	defer t.Stop()
	serving := true
	self, _ := h.n.lease.current()
	inc := self.Incarnation
	for {
		select {
		case <-h.stopped:
			return
		case <-t.C:
		}
		now := h.n.Serving()
		self, _ := h.n.lease.current()
		if serving && (!now || self.Incarnation != inc) {
			h.n.cfg.Logger.Warn("cluster: lease not valid, dropping every object", "node", h.n.cfg.Name,
				"incarnation", inc, "now", self.Incarnation)
			h.rt.CloseSockets(1012, "node lost its cluster lease")
			h.rt.EvictIdle(0)
		}
		serving, inc = now, self.Incarnation
	}
}
