package object

import (
	"container/heap"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"time"
)

// The wake index (DataDir/wake.sqlite) holds, per object with alarms, a time at or
// before its earliest due alarm. It is only a hint: the object's own _warren_alarms
// table is the truth, and a wake turn re-reads it. The index may wake an object early
// or for nothing, never late: an earlier time is written durably before the object's
// commit that needs it (entity.alarmsBeforeCommit). One runtime-wide timer on the
// Clock is armed for the earliest entry; no goroutine exists per object.

type wakeKey struct {
	ns string
	id [32]byte
}

type wakeItem struct {
	due time.Time
	key wakeKey
}

type wakeHeap []wakeItem

func (h wakeHeap) Len() int           { return len(h) }
func (h wakeHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h wakeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *wakeHeap) Push(x any)        { *h = append(*h, x.(wakeItem)) }
func (h *wakeHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// wakeRetry is how long a wake that could not run (overload, a failing constructor)
// waits before it is tried again.
const wakeRetry = 2 * time.Second

type wakeIndex struct {
	rt *Runtime
	db *sql.DB

	mu     sync.Mutex
	due    map[wakeKey]time.Time // what the durable index holds (or later, see retry)
	queue  wakeHeap              // lazily deleted: an item is live if due[key] equals it
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
		rt.cfg.AlarmRetries = 6
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
	w := &wakeIndex{rt: rt, db: db, due: map[wakeKey]time.Time{}, parked: map[string][]wakeKey{}, known: map[string]bool{}}
	for _, q := range []string{
		"PRAGMA journal_mode=WAL",
		"PRAGMA synchronous=" + rt.cfg.Synchronous,
		`CREATE TABLE IF NOT EXISTS wake (ns TEXT NOT NULL, id BLOB NOT NULL, due INTEGER NOT NULL, PRIMARY KEY (ns, id)) WITHOUT ROWID`,
	} {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			return nil, fmt.Errorf("object: wake index: %s: %w", q, err)
		}
	}
	rows, err := db.Query(`SELECT ns, id, due FROM wake`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("object: wake index: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k wakeKey
		var id []byte
		var due int64
		if err := rows.Scan(&k.ns, &id, &due); err != nil {
			db.Close()
			return nil, fmt.Errorf("object: wake index: %w", err)
		}
		if len(id) != len(k.id) {
			continue
		}
		copy(k.id[:], id)
		w.due[k] = fromUnixNano(due)
		w.queue = append(w.queue, wakeItem{fromUnixNano(due), k})
	}
	if err := rows.Err(); err != nil {
		db.Close()
		return nil, fmt.Errorf("object: wake index: %w", err)
	}
	heap.Init(&w.queue)
	return w, nil
}

// start arms the timer; due entries (missed while the process was down) fire now.
func (w *wakeIndex) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rearm()
}

// stop disarms the timer; close releases the database once no turn can run.
func (w *wakeIndex) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
}

func (w *wakeIndex) close() error { return w.db.Close() }

// ensure makes sure the durable index holds a time at or before due for key.
func (w *wakeIndex) ensure(key wakeKey, due time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cur, ok := w.due[key]; ok && !cur.After(due) {
		return nil
	}
	_, err := w.db.Exec(`INSERT INTO wake (ns, id, due) VALUES (?, ?, ?) ON CONFLICT (ns, id) DO UPDATE SET due = min(due, excluded.due)`,
		key.ns, key.id[:], unixNano(due))
	if err != nil {
		return fmt.Errorf("wake index: %w", err)
	}
	w.set(key, due)
	return nil
}

// settle records the object's exact earliest due time after a commit (has false:
// none). Failures are only logged: an entry that stays early is harmless.
func (w *wakeIndex) settle(key wakeKey, next time.Time, has bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cur, ok := w.due[key]
	var err error
	switch {
	case !has:
		if !ok {
			return
		}
		_, err = w.db.Exec(`DELETE FROM wake WHERE ns = ? AND id = ?`, key.ns, key.id[:])
		delete(w.due, key)
	case ok && cur.Equal(next) && next.After(w.rt.cfg.Clock.Now()):
		return // already indexed and queued
	default:
		_, err = w.db.Exec(`INSERT INTO wake (ns, id, due) VALUES (?, ?, ?) ON CONFLICT (ns, id) DO UPDATE SET due = excluded.due`,
			key.ns, key.id[:], unixNano(next))
		w.set(key, next)
	}
	if err != nil {
		w.rt.cfg.Logger.Warn("object: wake index update failed", "err", err)
	}
}

// retry queues another wake of key after a wake turn could not run.
func (w *wakeIndex) retry(key wakeKey) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.due[key]; !ok {
		return
	}
	w.set(key, w.rt.cfg.Clock.Now().Add(wakeRetry))
}

// set queues key at due in memory; w.mu is held.
func (w *wakeIndex) set(key wakeKey, due time.Time) {
	w.due[key] = due
	heap.Push(&w.queue, wakeItem{due, key})
	w.rearm()
}

// rearm points the timer at the earliest live entry; w.mu is held.
func (w *wakeIndex) rearm() {
	for len(w.queue) > 0 {
		top := w.queue[0]
		if cur, ok := w.due[top.key]; ok && cur.Equal(top.due) {
			break
		}
		heap.Pop(&w.queue) // stale
	}
	if w.closed || len(w.queue) == 0 {
		if w.timer != nil {
			w.timer.Stop()
			w.timer = nil
		}
		return
	}
	at := w.queue[0].due
	if w.timer != nil {
		if !w.armed.After(at) {
			return
		}
		w.timer.Stop()
	}
	w.armed = at
	w.timer = w.rt.cfg.Clock.AfterFunc(at.Sub(w.rt.cfg.Clock.Now()), w.fire)
}

// fire dispatches a wake turn to every object whose entry is due.
func (w *wakeIndex) fire() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.timer = nil
	now := w.rt.cfg.Clock.Now()
	var due []wakeKey
	for len(w.queue) > 0 && !w.queue[0].due.After(now) {
		it := heap.Pop(&w.queue).(wakeItem)
		if cur, ok := w.due[it.key]; ok && cur.Equal(it.due) {
			due = append(due, it.key)
		}
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

// wake dispatches a wake turn to the object behind k.
func (w *wakeIndex) wake(k wakeKey) {
	rt := w.rt
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
		run: func(ctx context.Context, inst any) error {
			c, _ := ctx.Value(turnKey{}).(*callChain)
			return c.e.wakeTurn(ctx, inst)
		},
		done: func(err error) {
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
