package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/warrenhq/warren/runtime/object"
)

// Alarms after a failover. An object's alarms live in its database (fenced and
// restored with it); each node's runtime wakes the objects it has open or evicted
// from its own wake index. For the objects of a node that died, every node also
// keeps the alarms bucket: one entry per object with alarms, at or before its
// earliest due time. Guarantees:
//
//   - The entry is written, durably, before the commit of a batch that moves the
//     object's earliest alarm earlier than the entry holds (never late); moving it
//     later or deleting it is written after the batch's outputs were released.
//   - Every node follows the bucket (a watch) and, every alarmScan, wakes the objects
//     whose entry is due and whose owner is this node or dead: the wake activates
//     the object (claiming it from a dead owner), whose due alarms run as on a single
//     node. So an alarm fires at least once, on whichever node owns the object, never
//     before its time (the wake turn reads the object's own table).

// alarmScan is how often a node looks for due entries of objects it should wake.
const alarmScan = time.Second

// alarmRetry is how long a node waits before waking the same object again.
const alarmRetry = 2 * time.Second

// alarmEntry is an object's value in the alarms bucket.
type alarmEntry struct {
	Namespace string `json:"ns"`
	ID        string `json:"id"`
	Due       int64  `json:"due"` // Unix ns
}

// AlarmDue records the object's earliest alarm in the bucket: before the commit
// when it moved earlier than the entry, after the outputs (BatchDone) otherwise.
func (h *host) AlarmDue(ctx context.Context, namespace string, id object.ID, due time.Time, has, committed bool) error {
	h.mu.Lock()
	a := h.open[hostKey(namespace, id)]
	h.mu.Unlock()
	if a == nil {
		return nil
	}
	if committed {
		a.pending, a.pendingHas, a.pendingDue = true, has, due
		return nil
	}
	if !has {
		return nil // deleted after the commit: until then the entry may only be early
	}
	if !a.alarmKnown {
		if err := h.readAlarm(ctx, a); err != nil {
			return err
		}
	}
	if a.alarmHas && !due.Before(a.alarmDue) {
		return nil // the entry is early enough: moved after the commit if it must
	}
	// Only ever earlier before the commit: if the batch fails, the entry is still at
	// or before the object's earliest alarm.
	return h.writeAlarm(ctx, a, true, due)
}

// readAlarm loads the object's entry from the bucket. It is read before a turn's
// commit: one that goes unanswered is sent again (reread.go).
func (h *host) readAlarm(ctx context.Context, a *active) error {
	key := objectKey(a.namespace, a.id)
	e, err := reread(ctx, h.n.cfg.RequestTimeout, func(ctx context.Context) (jetstream.KeyValueEntry, error) {
		return h.n.a.alarms.Get(ctx, key)
	})
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		a.alarmKnown, a.alarmHas = true, false
		return nil
	case err != nil:
		return err
	}
	var ae alarmEntry
	if err := json.Unmarshal(e.Value(), &ae); err != nil {
		a.alarmKnown, a.alarmHas = true, false // unreadable: overwrite it
		return nil
	}
	a.alarmKnown, a.alarmHas, a.alarmDue = true, true, time.Unix(0, ae.Due)
	return nil
}

// flushAlarm writes the entry the last commit left, if it differs from the bucket's.
func (h *host) flushAlarm(ctx context.Context, a *active) {
	if !a.pending {
		return
	}
	a.pending = false
	if a.alarmKnown && a.alarmHas == a.pendingHas && (!a.pendingHas || a.alarmDue.Equal(a.pendingDue)) {
		return
	}
	if err := h.writeAlarm(ctx, a, a.pendingHas, a.pendingDue); err != nil {
		// A stale entry only wakes the object early (or for nothing) after a failover.
		h.n.cfg.Logger.Warn("cluster: alarm entry", "namespace", a.namespace, "id", a.id, "err", err)
	}
}

func (h *host) writeAlarm(ctx context.Context, a *active, has bool, due time.Time) error {
	key := objectKey(a.namespace, a.id)
	var err error
	if has {
		var b []byte
		b, err = json.Marshal(alarmEntry{Namespace: a.namespace, ID: a.id, Due: due.UnixNano()})
		if err == nil {
			_, err = h.n.a.alarms.Put(ctx, key, b)
		}
	} else {
		err = h.n.a.alarms.Delete(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			err = nil
		}
	}
	if err != nil {
		a.alarmKnown = false
		return err
	}
	a.alarmKnown, a.alarmHas, a.alarmDue = true, has, due
	return nil
}

// scanAlarms follows the alarms bucket and wakes the objects this node should.
func (h *host) scanAlarms() {
	defer h.done.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-h.stopped
		cancel()
	}()
	var mu sync.Mutex
	entries := map[string]alarmEntry{}
	w, err := h.n.a.alarms.WatchAll(ctx)
	if err != nil {
		h.n.cfg.Logger.Error("cluster: watch alarms", "err", err)
		return
	}
	go func() {
		defer w.Stop()
		for e := range w.Updates() {
			if e == nil {
				continue
			}
			var ae alarmEntry
			mu.Lock()
			if e.Operation() != jetstream.KeyValuePut || json.Unmarshal(e.Value(), &ae) != nil {
				delete(entries, e.Key())
			} else {
				entries[e.Key()] = ae
			}
			mu.Unlock()
		}
	}()
	tried := map[string]time.Time{}
	t := time.NewTicker(alarmScan)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !h.n.Serving() {
			continue
		}
		now := time.Now()
		var due []string
		mu.Lock()
		for k, e := range entries {
			if e.Due <= now.UnixNano() && now.Sub(tried[k]) >= alarmRetry {
				due = append(due, k)
			}
		}
		mu.Unlock()
		for k := range tried {
			if now.Sub(tried[k]) >= alarmRetry {
				delete(tried, k)
			}
		}
		for _, k := range due {
			mu.Lock()
			e := entries[k]
			mu.Unlock()
			if h.shouldWake(ctx, k, e) {
				tried[k] = now
				if err := h.rt.Wake(e.Namespace, e.ID); err != nil {
					h.n.cfg.Logger.Warn("cluster: wake for an alarm", "namespace", e.Namespace, "id", e.ID, "err", err)
				}
			}
		}
	}
}

// shouldWake reports whether this node should wake the object behind an alarm
// entry: it is not open here (then the runtime's own wake index has it) and its
// owner is this node or a node the member cache does not list alive.
func (h *host) shouldWake(ctx context.Context, key string, e alarmEntry) bool {
	if objectKey(e.Namespace, e.ID) != key {
		return false // not an entry this package wrote
	}
	h.mu.Lock()
	_, open := h.open[e.Namespace+"/"+e.ID]
	h.mu.Unlock()
	if open {
		return false
	}
	rctx, cancel := context.WithTimeout(ctx, h.n.cfg.RequestTimeout)
	defer cancel()
	cur, rev, err := readClaim(rctx, h.n.a.owners, key)
	if err != nil {
		return false
	}
	if rev == 0 || cur.Node == h.n.cfg.Name {
		return true
	}
	m, ok := h.n.members.get(cur.Node)
	return !ok || m.Incarnation != cur.Incarnation
}
