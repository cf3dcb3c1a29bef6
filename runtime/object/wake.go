package object

import (
	"container/heap"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The wake index says when to wake which object for its alarms. It is only a hint: the
// object's own _warren_alarms table is the truth, and a wake turn re-reads it. It may
// wake an object early or for nothing, never late or never:
//
//   - in memory, a heap holds one entry per object with alarms, at its earliest due
//     time as of its last commit (or a retry time), and one runtime-wide timer on the
//     Clock is armed for the top entry, for at most maxWakeSleep at a time, so that a
//     forward jump of the wall clock (a VM resumed) is noticed promptly;
//   - on disk (DataDir/wake.sqlite), for restarts, each entry holds a time at or before
//     the object's earliest due alarm. Only moving an entry earlier must be durable
//     before the object's commit that needs it (ensure, group-committed across
//     objects); moving one later or deleting it can wait (the flusher batches them),
//     so the common pattern of an alarm pushed later on every turn costs no I/O.
//
// A wake that finds nothing due (the wall clock stepped back) re-arms from the
// object's table: settle runs after every wake turn's commit.

type wakeKey struct {
	ns string
	id [32]byte
}

// wakeRetry is how long a wake that could not run (overload, a failing constructor)
// waits before it is tried again.
const wakeRetry = 2 * time.Second

// maxWakeSleep bounds one sleep of the wake timer: timers run on the monotonic clock,
// alarms on the wall clock, so a wall clock that jumps ahead fires its due alarms this
// late at most.
const maxWakeSleep = time.Second

type wakeIndex struct {
	rt *Runtime
	db *sql.DB

	mu     sync.Mutex
	queue  wakeHeap              // in memory: when to wake whom
	want   map[wakeKey]time.Time // earliest due time as of each object's last commit (absent: none)
	disk   map[wakeKey]time.Time // what wake.sqlite holds
	writer wakeWriter            // durable writes (wakewriter.go)
	timer  Timer
	armed  time.Time
	parked map[string][]wakeKey // due, but the namespace is not registered yet
	known  map[string]bool      // registered namespaces
	closed bool
}

// startAlarms fills in the alarm defaults of the config, opens the wake index and
// arms its timer.
func (rt *Runtime) startAlarms() error {
	if rt.cfg.AlarmRetries == 0 {
		rt.cfg.AlarmRetries = DefaultAlarmRetries
	}
	if rt.cfg.AlarmJitter == nil {
		rt.cfg.AlarmJitter = rand.Float64
	}
	w, err := openWakeIndex(rt)
	if err != nil {
		return err
	}
	rt.wake = w
	w.start()
	return nil
}

func openWakeIndex(rt *Runtime) (*wakeIndex, error) {
	path := filepath.Join(rt.cfg.DataDir, "wake.sqlite")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return nil, fmt.Errorf("object: wake index: %w", err)
	}
	db.SetMaxOpenConns(1)
	w := &wakeIndex{rt: rt, db: db, want: map[wakeKey]time.Time{}, disk: map[wakeKey]time.Time{},
		parked: map[string][]wakeKey{}, known: map[string]bool{}}
	w.queue.at = map[wakeKey]int{}
	w.writer.init(&w.mu)
	fail := func(err error) (*wakeIndex, error) {
		db.Close()
		return nil, fmt.Errorf("object: wake index: %w", err)
	}
	for _, q := range []string{
		"PRAGMA journal_mode=WAL",
		"PRAGMA synchronous=" + rt.cfg.Synchronous,
		`CREATE TABLE IF NOT EXISTS wake (ns TEXT NOT NULL, id BLOB NOT NULL, due INTEGER NOT NULL, PRIMARY KEY (ns, id)) WITHOUT ROWID`,
	} {
		if _, err := db.Exec(q); err != nil {
			return fail(fmt.Errorf("%s: %w", q, err))
		}
	}
	rows, err := db.Query(`SELECT ns, id, due FROM wake`)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k wakeKey
		var id []byte
		var due int64
		if err := rows.Scan(&k.ns, &id, &due); err != nil {
			return fail(err)
		}
		if len(id) != len(k.id) {
			continue
		}
		copy(k.id[:], id)
		t := fromUnixNano(due)
		w.disk[k], w.want[k] = t, t
		w.queue.set(k, t)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	return w, nil
}

// start arms the timer; due entries (missed while the process was down) fire now.
func (w *wakeIndex) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rearm()
}

// stop disarms the timer; close writes what the flusher still holds and releases the
// database, once no turn can run.
func (w *wakeIndex) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	w.writer.stopFlushes()
}

func (w *wakeIndex) close() error {
	w.flush(true)
	w.writer.wait()
	return w.db.Close()
}

// ensure makes the durable index hold a time at or before due for key before the
// object's commit that needs it. It writes only when the index holds no entry for key
// or a later one (or is about to); it then writes the earlier of due and now, so the
// object's further alarms need no write until the flusher moves the entry later.
func (w *wakeIndex) ensure(key wakeKey, due time.Time) error {
	w.mu.Lock()
	if cur, ok := w.want[key]; !ok || due.Before(cur) {
		w.want[key] = due // the flusher must not move the entry past due meanwhile
	}
	if planned, ok := w.planned(key); ok && !planned.After(due) {
		w.mu.Unlock()
		return nil
	}
	at := due
	if now := w.rt.cfg.Clock.Now(); now.Before(at) {
		at = now
	}
	b := w.submit(key, wakeWrite{due: at})
	w.mu.Unlock()
	<-b.done
	if b.err != nil {
		return fmt.Errorf("wake index: %w", b.err)
	}
	return nil
}

// settle records the object's earliest due time after a commit (has false: none). It
// touches memory only; the flusher moves the durable entry later in a while.
func (w *wakeIndex) settle(key wakeKey, next time.Time, has bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if has {
		w.want[key] = next
		w.queue.set(key, next)
	} else {
		delete(w.want, key)
		w.queue.remove(key)
	}
	if d, ok := w.disk[key]; ok != has || has && !d.Equal(next) {
		w.writer.markDirty(key, w)
	}
	w.rearm()
}

// retry queues another wake of key after a wake turn could not run.
func (w *wakeIndex) retry(key wakeKey) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.want[key]; !ok {
		return
	}
	w.queue.set(key, w.rt.cfg.Clock.Now().Add(wakeRetry))
	w.rearm()
}

// rearm points the timer at the earliest entry, for at most maxWakeSleep; w.mu is held.
func (w *wakeIndex) rearm() {
	if w.closed || w.queue.Len() == 0 {
		if w.timer != nil {
			w.timer.Stop()
			w.timer = nil
		}
		return
	}
	now := w.rt.cfg.Clock.Now()
	at := w.queue.items[0].due
	if limit := now.Add(maxWakeSleep); at.After(limit) {
		at = limit
	}
	if w.timer != nil {
		if !w.armed.After(at) {
			return
		}
		w.timer.Stop()
	}
	w.armed = at
	w.timer = w.rt.cfg.Clock.AfterFunc(at.Sub(now), w.fire)
}

// fire dispatches a wake turn to every object whose entry is due, and re-arms.
func (w *wakeIndex) fire() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.timer = nil
	now := w.rt.cfg.Clock.Now()
	var due []wakeKey
	for w.queue.Len() > 0 && !w.queue.items[0].due.After(now) {
		k := w.queue.items[0].key
		w.queue.remove(k) // until the wake turn settles it again
		due = append(due, k)
	}
	w.rearm()
	w.mu.Unlock()
	for _, k := range due {
		w.wake(k)
	}
}

// registered releases the wakes parked until namespace ns registered. The runtime's
// lock is held: the wakes are dispatched from another goroutine.
func (w *wakeIndex) registered(ns string) {
	w.mu.Lock()
	keys := w.parked[ns]
	delete(w.parked, ns)
	w.known[ns] = true
	w.mu.Unlock()
	if len(keys) > 0 {
		go func() {
			for _, k := range keys {
				w.wake(k)
			}
		}()
	}
}

// wake dispatches a wake turn to the object behind k, unless its database is gone
// (deleted while its entry waited to be dropped): a wake never creates an object.
func (w *wakeIndex) wake(k wakeKey) {
	rt := w.rt
	if _, err := os.Lstat(rt.dbPath(k.ns, ID{raw: k.id})); errors.Is(err, fs.ErrNotExist) && rt.cfg.Cluster == nil {
		w.settle(k, time.Time{}, false)
		return
	}
	rt.mu.Lock()
	ns := rt.namespaces[k.ns]
	rt.mu.Unlock()
	if ns == nil {
		w.mu.Lock()
		if !w.known[k.ns] {
			w.parked[k.ns] = append(w.parked[k.ns], k)
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		w.wake(k) // registered meanwhile
		return
	}
	ev := &event{
		ctx:      context.Background(),
		internal: true,
		wake:     true,
		run: func(ctx context.Context, inst any) error {
			return callingEntity(ctx).wakeTurn(ctx, inst)
		},
		done: func(err error) {
			if errors.As(err, new(*ElsewhereError)) {
				// Another node owns the object now (cluster mode): its alarms are that
				// node's to fire, and it wakes the object itself.
				w.settle(k, time.Time{}, false)
				return
			}
			if err != nil && !errors.Is(err, ErrClosed) {
				rt.cfg.Logger.Warn("object: wake turn failed; retrying", "namespace", k.ns, "id", ID{raw: k.id}.String(), "err", err)
				w.retry(k)
			}
		},
	}
	if err := rt.dispatch(ns, ID{raw: k.id}, ev); err != nil && !errors.Is(err, ErrClosed) {
		w.retry(k)
	}
}

// wakeHeap is a min-heap of wake times with at most one entry per key.
type wakeHeap struct {
	items []wakeItem
	at    map[wakeKey]int // index of each key's item
}

type wakeItem struct {
	due time.Time
	key wakeKey
}

func (h *wakeHeap) Len() int           { return len(h.items) }
func (h *wakeHeap) Less(i, j int) bool { return h.items[i].due.Before(h.items[j].due) }
func (h *wakeHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.at[h.items[i].key], h.at[h.items[j].key] = i, j
}
func (h *wakeHeap) Push(x any) {
	it := x.(wakeItem)
	h.at[it.key] = len(h.items)
	h.items = append(h.items, it)
}
func (h *wakeHeap) Pop() any {
	it := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	delete(h.at, it.key)
	return it
}

// set queues key at due, replacing its entry if it has one.
func (h *wakeHeap) set(key wakeKey, due time.Time) {
	if i, ok := h.at[key]; ok {
		h.items[i].due = due
		heap.Fix(h, i)
		return
	}
	heap.Push(h, wakeItem{due, key})
}

// remove drops key's entry, if any.
func (h *wakeHeap) remove(key wakeKey) {
	if i, ok := h.at[key]; ok {
		heap.Remove(h, i)
	}
}
