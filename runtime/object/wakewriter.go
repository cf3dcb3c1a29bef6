package object

import (
	"sync"
	"time"
)

// wakeFlushEvery is the flusher's period. A durable wake entry earlier than its object
// needs (moved later or deleted in memory only) is written after one whole period in
// which no commit moved it again, so within two: an object that keeps setting alarms
// keeps its early entry, and its commits never wait on the wake index for an alarm
// earlier than the one the flusher would have written (issue 13 item 11: with 16 busy
// objects, one such wait per object per second, each about one wake-index fsync).
const wakeFlushEvery = time.Second

// wakeWrite is one change of the durable wake index: an entry's new time, or its
// deletion.
type wakeWrite struct {
	due time.Time
	del bool
}

// wakeBatch is the changes written in one transaction (one fsync).
type wakeBatch struct {
	writes map[wakeKey]wakeWrite
	done   chan struct{} // closed once written (or failed, err set)
	err    error
}

// wakeWriter makes changes of the wake index durable in batches: every change
// submitted while a batch is being written goes into the next one, so concurrent
// objects share fsyncs (group commit). The flusher submits, once a second, the
// entries that may move later and that no commit moved during the last second; ensure submits those that must move earlier and waits
// for them. Its fields are guarded by wakeIndex.mu.
type wakeWriter struct {
	collecting *wakeBatch // next to be written
	inflight   *wakeBatch // being written
	writing    bool       // a writeLoop goroutine runs
	idle       *sync.Cond // broadcast when writing ends
	dirty      map[wakeKey]bool
	recent     map[wakeKey]bool // dirty keys moved again since the last flush
	flushTimer Timer
	stopped    bool
}

func (ww *wakeWriter) init(mu *sync.Mutex) {
	ww.idle = sync.NewCond(mu)
	ww.dirty = map[wakeKey]bool{}
	ww.recent = map[wakeKey]bool{}
}

// planned returns what the durable index will hold for key once the batches already
// submitted are written; w.mu is held.
func (w *wakeIndex) planned(key wakeKey) (time.Time, bool) {
	for _, b := range []*wakeBatch{w.writer.collecting, w.writer.inflight} {
		if b == nil {
			continue
		}
		if wr, ok := b.writes[key]; ok {
			return wr.due, !wr.del
		}
	}
	t, ok := w.disk[key]
	return t, ok
}

// submit adds a change to the next batch and returns that batch; w.mu is held.
func (w *wakeIndex) submit(key wakeKey, wr wakeWrite) *wakeBatch {
	ww := &w.writer
	if ww.collecting == nil {
		ww.collecting = &wakeBatch{writes: map[wakeKey]wakeWrite{}, done: make(chan struct{})}
	}
	b := ww.collecting
	b.writes[key] = wr
	if !ww.writing {
		ww.writing = true
		go w.writeLoop()
	}
	return b
}

// writeLoop writes batches until none is waiting.
func (w *wakeIndex) writeLoop() {
	ww := &w.writer
	for {
		w.mu.Lock()
		b := ww.collecting
		if b == nil {
			ww.writing = false
			ww.idle.Broadcast()
			w.mu.Unlock()
			return
		}
		ww.collecting, ww.inflight = nil, b
		w.mu.Unlock()
		err := w.store(b.writes)
		w.mu.Lock()
		for k, wr := range b.writes {
			switch {
			case err != nil:
				ww.markDirty(k, w) // an entry the flusher moved stays early: try again later
			case wr.del:
				delete(w.disk, k)
			default:
				w.disk[k] = wr.due
			}
		}
		ww.inflight = nil
		w.mu.Unlock()
		b.err = err
		close(b.done)
	}
}

// store writes one batch in one transaction.
func (w *wakeIndex) store(writes map[wakeKey]wakeWrite) error {
	tx, err := w.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for k, wr := range writes {
		if wr.del {
			_, err = tx.Exec(`DELETE FROM wake WHERE ns = ? AND id = ?`, k.ns, k.id[:])
		} else {
			_, err = tx.Exec(`INSERT INTO wake (ns, id, due) VALUES (?, ?, ?) ON CONFLICT (ns, id) DO UPDATE SET due = excluded.due`,
				k.ns, k.id[:], unixNano(wr.due))
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}

// markDirty notes that key's durable entry is earlier than needed (or should be gone)
// and arms the flusher; w.mu is held.
func (ww *wakeWriter) markDirty(key wakeKey, w *wakeIndex) {
	ww.dirty[key] = true
	ww.recent[key] = true
	ww.armFlush(w)
}

// armFlush starts the flusher's period unless it runs already; w.mu is held.
func (ww *wakeWriter) armFlush(w *wakeIndex) {
	if ww.flushTimer == nil && !ww.stopped {
		ww.flushTimer = w.rt.cfg.Clock.AfterFunc(wakeFlushEvery, w.flushQuiet)
	}
}

// flushQuiet is the flusher's tick: flush of the keys no commit moved during the
// period; the others wait for the next tick.
func (w *wakeIndex) flushQuiet() { w.flush(false) }

// flush submits, without waiting, the durable entries that can move later: each dirty
// key (all: also those moved during the last period) gets its object's earliest due
// time as of its last commit, or is deleted.
func (w *wakeIndex) flush(all bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ww := &w.writer
	ww.flushTimer = nil
	for k := range ww.dirty {
		if ww.recent[k] && !all {
			delete(ww.recent, k)
			ww.armFlush(w)
			continue
		}
		delete(ww.dirty, k)
		delete(ww.recent, k)
		want, has := w.want[k]
		cur, ok := w.planned(k)
		if ok == has && (!has || cur.Equal(want)) {
			continue
		}
		w.submit(k, wakeWrite{due: want, del: !has})
	}
}

// stopFlushes disarms the flusher; w.mu is held.
func (ww *wakeWriter) stopFlushes() {
	ww.stopped = true
	if ww.flushTimer != nil {
		ww.flushTimer.Stop()
		ww.flushTimer = nil
	}
}

// wait blocks until no batch is being written.
func (ww *wakeWriter) wait() {
	ww.idle.L.Lock()
	for ww.writing {
		ww.idle.Wait()
	}
	ww.idle.L.Unlock()
}
