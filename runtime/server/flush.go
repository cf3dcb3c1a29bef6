package server

import (
	"runtime"
	"sync"
)

// flushers write the sockets that have frames waiting, many sockets per goroutine:
// a broadcast to 1,000 sockets wakes one or two flushers instead of 1,000 writer
// goroutines, and each socket gets everything queued for it by then in one write
// (sockwrite.go). A flusher only ever tries a write that cannot block; a socket whose
// peer reads too slowly continues on a goroutine of its own.
type flushers struct {
	mu      sync.Mutex
	queue   []*conn // waiting from queue[head]
	head    int
	running int // flusher goroutines; they exit when the queue is empty
	max     int
}

// flushChunk is how many sockets a flusher takes from the queue at a time, and how
// many must wait before a second flusher starts.
const flushChunk = 64

func newFlushers() *flushers {
	return &flushers{max: max(1, min(runtime.GOMAXPROCS(0), 8))}
}

// push queues c for a write round, starting a flusher when none runs, or another
// one when more than a chunk waits.
func (f *flushers) push(c *conn) {
	f.mu.Lock()
	f.queue = append(f.queue, c)
	start := f.running == 0 || f.running < f.max && len(f.queue)-f.head > flushChunk*f.running
	if start {
		f.running++
	}
	f.mu.Unlock()
	if start {
		go f.work()
	}
}

// pushHeld queues the held sockets of a tick (holder) for their write rounds.
func (f *flushers) pushHeld(cs []*conn) {
	n := 0
	for _, c := range cs {
		c.mu.Lock()
		if c.wstate == writeHeld {
			c.wstate = writeQueued
			cs[n] = c
			n++
		}
		c.mu.Unlock()
	}
	if n == 0 {
		return
	}
	f.mu.Lock()
	f.queue = append(f.queue, cs[:n]...)
	start := 0
	for f.running+start < f.max && (f.running+start == 0 || len(f.queue)-f.head > flushChunk*(f.running+start)) {
		start++
	}
	f.running += start
	f.mu.Unlock()
	for range start {
		go f.work()
	}
}

func (f *flushers) work() {
	var batch []*conn
	for {
		f.mu.Lock()
		n := min(len(f.queue)-f.head, flushChunk)
		if n == 0 {
			f.running--
			clear(f.queue)
			f.queue, f.head = f.queue[:0], 0
			if cap(f.queue) > 1<<16 {
				f.queue = nil // a burst's large array goes back
			}
			f.mu.Unlock()
			return
		}
		batch = append(batch[:0], f.queue[f.head:f.head+n]...)
		f.head += n
		if f.head >= 1024 && 2*f.head >= len(f.queue) { // a queue that never empties stays bounded
			k := copy(f.queue, f.queue[f.head:])
			clear(f.queue[k:])
			f.queue, f.head = f.queue[:k], 0
		}
		f.mu.Unlock()
		for _, c := range batch {
			c.writeRounds(false)
		}
		clear(batch)
	}
}
