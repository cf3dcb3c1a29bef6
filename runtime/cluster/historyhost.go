package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// The runtime's history seam in cluster mode: the host is the runtime's
// object.History (object.Runtime's BookmarkForTime, CurrentBookmark, RestoreBookmark
// and HistoryUsage, and the admin API and CLI on them, work on any node), backed by
// the objects' logs (history.go). Bookmarks and usage are read from the log by
// whichever node is asked; a restore runs on the object's owner, the runtime holding
// the object there (a node that does not own it sends the restore to the owner,
// RestoreBookmarkOn).

var (
	_ object.History          = (*host)(nil)
	_ object.RestoreElsewhere = (*host)(nil)
)

// historyTimeout bounds one history request of the runtime (its calls carry no
// context).
func (h *host) historyTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), h.openTimeout())
}

// Open is never called in cluster mode (the runtime keeps no archive there).
func (h *host) Open(string, object.ID, string, func() (bool, error)) (object.ObjectHistory, error) {
	return nil, errors.New("cluster: the object's log is its history")
}

func (h *host) BookmarkForTime(namespace string, id object.ID, _ string, t time.Time) (string, error) {
	ctx, cancel := h.historyTimeout()
	defer cancel()
	return h.n.BookmarkForTime(ctx, namespace, id.String(), t)
}

func (h *host) CurrentBookmark(namespace string, id object.ID, _ string) (string, error) {
	ctx, cancel := h.historyTimeout()
	defer cancel()
	return h.n.CurrentBookmark(ctx, namespace, id.String())
}

// held returns the activation of an object the runtime holds on this node.
func (h *host) held(namespace string, id object.ID) (*active, error) {
	h.mu.Lock()
	a := h.open[hostKey(namespace, id)]
	h.mu.Unlock()
	if a == nil {
		return nil, fmt.Errorf("%w: %s/%s is not held on this node", object.ErrRetryable, namespace, id)
	}
	return a, nil
}

// Prepare builds the state at bookmark into dst; the undo bookmark is the log's
// tail, which the hold's activation fenced (the state the restore replaces).
func (h *host) Prepare(namespace string, id object.ID, _, bookmark, dst string) (string, error) {
	a, err := h.held(namespace, id)
	if err != nil {
		return "", err
	}
	ctx, cancel := h.historyTimeout()
	defer cancel()
	if err := h.n.BuildBookmark(ctx, namespace, id.String(), bookmark, dst); err != nil {
		return "", err
	}
	if a.obj.needBase {
		return "", fmt.Errorf("%w: %s/%s has no database", object.ErrNotFound, namespace, id)
	}
	return encodeBookmark(namespace+"/"+id.String(), a.obj.lastSeq, a.obj.lastAt), nil
}

// Replaced commits the restored file as a SNAP at the log's head, then records its
// earliest alarm in the alarms bucket (an entry may be early, never late: one the
// restored state has no alarm for only costs a wake that finds nothing due).
func (h *host) Replaced(namespace string, id object.ID, path string) error {
	a, err := h.held(namespace, id)
	if err != nil {
		return err
	}
	ctx, cancel := h.historyTimeout()
	defer cancel()
	if err := a.obj.commitRestored(ctx); err != nil {
		return err
	}
	a.alarmKnown = false
	return h.n.importAlarm(ctx, namespace, id.String(), path)
}

func (h *host) Usage(namespace string, id object.ID) (int64, error) {
	ctx, cancel := h.historyTimeout()
	defer cancel()
	return h.n.HistoryUsage(ctx, namespace, id.String())
}

// historyHops carries how many nodes a restore was sent through.
type historyHops struct{}

// RestoreBookmarkOn sends an operator's restore to the object's owner, following a
// moved owner at most rpcHops times.
func (h *host) RestoreBookmarkOn(ctx context.Context, to *object.ElsewhereError, namespace string, id object.ID, bookmark string) (string, error) {
	hops, _ := ctx.Value(historyHops{}).(int)
	if hops >= rpcHops || to.Node == h.n.cfg.Name {
		return "", fmt.Errorf("%w: %s/%s kept moving (last seen on %s)", object.ErrRetryable, namespace, id, to.Node)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rpcDefaultTimeout)
		defer cancel()
	}
	dl, _ := ctx.Deadline()
	req := rpcRequest{Op: opRestoreBookmark, Namespace: namespace, ID: id.String(), Arg: []byte(bookmark),
		TimeoutMS: time.Until(dl).Milliseconds(), Hops: hops + 1}
	b, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	m, err := h.request(ctx, to.Node, b)
	if err != nil {
		return "", fmt.Errorf("%w: restore on node %s: %v", object.ErrRetryable, to.Node, err)
	}
	var rep rpcReply
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		return "", fmt.Errorf("%w: bad reply from %s: %v", object.ErrIndeterminate, to.Node, err)
	}
	if rep.Err != nil {
		return "", rep.Err.decode()
	}
	return string(rep.Result), nil
}

const opRestoreBookmark = "restore-bookmark"

// serveRestore runs a restore another node sent: the runtime holds the object here
// (or names its owner, to which the restore is sent on).
func (h *host) serveRestore(ctx context.Context, req rpcRequest) ([]byte, error) {
	id, err := h.rt.ParseObject(req.Namespace, req.ID)
	if err != nil {
		return nil, err
	}
	ctx = context.WithValue(ctx, historyHops{}, req.Hops)
	undo, err := h.rt.RestoreBookmark(ctx, req.Namespace, id, string(req.Arg))
	return []byte(undo), err
}

// historyBytes is the cluster's history size as last read (HistoryBytes).
type historyStats struct{ bytes atomic.Int64 }

// HistoryBytes is the cluster's history size (log streams and blobs, one replica)
// as of the node's last read, every historyStatsEvery: warren_history_bytes.
func (h *host) HistoryBytes() int64 { return h.stats.bytes.Load() }

const historyStatsEvery = 30 * time.Second

// sweepHistory runs the node's retention sweep every HistorySweep, and reads the
// history's size every historyStatsEvery.
func (h *host) sweepHistory() {
	defer h.done.Done()
	if !h.n.keepsHistory() {
		return
	}
	read := func() {
		ctx, cancel := context.WithTimeout(context.Background(), h.n.cfg.RequestTimeout)
		defer cancel()
		if b, err := h.n.HistoryBytes(ctx); err == nil {
			h.stats.bytes.Store(b)
		}
	}
	read()
	stats := time.NewTicker(historyStatsEvery)
	defer stats.Stop()
	sweep := time.NewTicker(h.n.cfg.HistorySweep)
	defer sweep.Stop()
	for {
		select {
		case <-h.stopped:
			return
		case <-stats.C:
			read()
		case <-sweep.C:
			ctx, cancel := context.WithTimeout(context.Background(), h.n.cfg.HistorySweep)
			k, err := h.n.SweepHistory(ctx)
			cancel()
			if err != nil {
				h.n.cfg.Logger.Warn("cluster: history sweep", "purged", k, "err", err)
			}
			read()
		}
	}
}
