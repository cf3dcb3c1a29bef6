package server

import (
	"sync"
	"time"
)

// holder paces the writes of busy sockets: a socket just written waits for the next
// tick (at most Config.WriteHold) before its next write round, so the frames queued
// meanwhile go out in one write instead of one write each. A socket whose last write
// was a tick or more ago writes its next frame at once: holding only ever happens
// right after a write, so a lone message is never delayed, and a socket gets at most
// one write per tick however fast frames come. Under a steady broadcast load every
// socket ends up written once per tick, by the flushers, in one wave.
//
// One goroutine for the server runs the ticks, only while some socket is held.
type holder struct {
	every time.Duration
	f     *flushers

	mu      sync.Mutex
	held    []*conn
	spare   []*conn
	running bool
}

func newHolder(every time.Duration, f *flushers) *holder {
	return &holder{every: every, f: f}
}

// add holds c (in state writeHeld) until the next tick.
func (h *holder) add(c *conn) {
	h.mu.Lock()
	h.held = append(h.held, c)
	start := !h.running
	h.running = true
	h.mu.Unlock()
	if start {
		go h.loop()
	}
}

func (h *holder) loop() {
	t := time.NewTicker(h.every)
	defer t.Stop()
	for range t.C {
		h.mu.Lock()
		batch := h.held
		if len(batch) == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		h.held = h.spare[:0]
		h.mu.Unlock()
		h.f.pushHeld(batch)
		clear(batch)
		h.mu.Lock()
		h.spare = batch[:0]
		if cap(h.spare) > 1<<16 {
			h.spare = nil // a burst's large array goes back
		}
		h.mu.Unlock()
	}
}
