package server

import (
	"sync"
	"time"
)

// pinger sends a protocol ping to every socket each interval: one timer for the
// server instead of one per socket. A socket that does not answer is closed by its
// read deadline (readLoop). The goroutine runs only while sockets exist.
type pinger struct {
	every time.Duration
	ping  []byte

	mu      sync.Mutex
	conns   map[*conn]struct{}
	running bool
}

func newPinger(every time.Duration) *pinger {
	return &pinger{every: every, ping: appendFrame(nil, opPing, nil), conns: map[*conn]struct{}{}}
}

func (p *pinger) add(c *conn) {
	p.mu.Lock()
	p.conns[c] = struct{}{}
	start := !p.running
	p.running = true
	p.mu.Unlock()
	if start {
		go p.loop()
	}
}

func (p *pinger) remove(c *conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *pinger) loop() {
	t := time.NewTicker(p.every)
	defer t.Stop()
	var all []*conn
	for range t.C {
		p.mu.Lock()
		if len(p.conns) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		all = all[:0]
		for c := range p.conns {
			all = append(all, c)
		}
		p.mu.Unlock()
		for _, c := range all {
			c.control(p.ping)
		}
		clear(all)
	}
}
