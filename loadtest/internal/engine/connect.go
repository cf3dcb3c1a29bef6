package engine

import (
	"context"
	"sync"
	"time"

	"github.com/warrenhq/warren/loadtest/internal/track"
	"github.com/warrenhq/warren/loadtest/internal/wsclient"
)

// connect opens socket id of room rm within the connect timeout, and counts it:
// attempted, then failed or established (with its connect latency). It returns
// nil when the dial failed.
func (r *run) connect(ctx context.Context, rm *room, id int, tmpl string) *wsclient.Conn {
	r.attempted.Add(1)
	dctx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
	defer cancel()
	t0 := time.Now()
	ws, err := wsclient.Dial(dctx, r.expand(tmpl, rm, id), wsclient.Options{
		NetDialer:      r.pool.Dialer(r.cfg.AllowNonLoopback),
		ReadBufferSize: r.cfg.ReadBuffer,
		Header:         r.cfg.Header,
	})
	if err != nil {
		r.failed.Add(1)
		if ctx.Err() == nil {
			r.errs.add("connect", err)
		}
		return nil
	}
	r.connLat.Record(id, time.Since(t0))
	r.established.Add(1)
	return ws
}

// dial opens one socket of room rm and starts its reader. It returns nil
// when the dial failed (the failure is counted).
func (r *run) dial(ctx context.Context, rm *room, id int, selfSlot int) *conn {
	tmpl := r.cfg.URL
	if selfSlot >= 0 && r.cfg.SenderURL != "" {
		tmpl = r.cfg.SenderURL
	}
	ws := r.connect(ctx, rm, id, tmpl)
	if ws == nil {
		return nil
	}
	ws.SetWriteTimeout(r.cfg.WriteTimeout)
	r.open.Add(1)
	c := &conn{id: id, room: rm, selfSlot: selfSlot, ws: ws, seqs: make([]track.Seq, len(rm.senders))}
	for i, s := range rm.senders {
		c.seqs[i].Start(s.seq.Load())
	}
	rm.mu.Lock()
	rm.conns = append(rm.conns, c)
	rm.mu.Unlock()
	r.connsMu.Lock()
	r.conns = append(r.conns, c)
	r.connsMu.Unlock()
	r.readers.Add(1)
	go r.read(c)
	return c
}

// connectAll opens n sockets numbered from first, spread round robin over
// the rooms, within the connect rate and concurrency.
func (r *run) connectAll(ctx context.Context, first, n int) time.Duration {
	start := time.Now()
	sem := make(chan struct{}, r.cfg.ConnectConcurrency)
	var wg sync.WaitGroup
	var tick *time.Ticker
	if r.cfg.ConnectRate > 0 {
		tick = time.NewTicker(time.Duration(float64(time.Second) / r.cfg.ConnectRate))
		defer tick.Stop()
	}
	for i := first; i < first+n; i++ {
		if tick != nil {
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
		select {
		case <-ctx.Done():
		case sem <- struct{}{}:
		}
		if ctx.Err() != nil {
			break
		}
		rm := r.rooms[i%len(r.rooms)]
		slot := -1
		var s *sender
		if k := i / len(r.rooms); k < len(rm.senders) && i < len(r.rooms)*len(rm.senders) {
			slot, s = k, rm.senders[k]
		}
		wg.Go(func() {
			defer func() { <-sem }()
			c := r.dial(ctx, rm, i, slot)
			if s != nil {
				if c == nil {
					s.dead.Store(true)
				} else {
					s.c = c
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// closeAll closes every socket and waits (boundedly) for the readers.
func (r *run) closeAll() {
	r.closing.Store(true)
	r.connsMu.Lock()
	for _, c := range r.conns {
		c.ws.Close()
	}
	r.connsMu.Unlock()
	done := make(chan struct{})
	go func() { r.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		r.errs.addKind("internal:readers_did_not_stop")
	}
}
