package engine

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/warrenhq/warren/loadtest/internal/payload"
)

// sendPhase runs every live sender at rate for d (or until each sent max
// messages, when max > 0) and returns the time it took.
func (r *run) sendPhase(ctx context.Context, rate float64, d time.Duration, max uint64) time.Duration {
	start := time.Now()
	until := start.Add(d)
	interval := time.Duration(float64(time.Second) / rate)
	r.stamping.Store(true) // broadcast latency is measured while senders send
	defer r.stamping.Store(false)
	var wg sync.WaitGroup
	for _, s := range r.senders {
		if s.c == nil || s.dead.Load() {
			continue
		}
		wg.Go(func() { r.sendLoop(ctx, s, start.Add(rand.N(interval+1)), interval, until, max) })
	}
	wg.Wait()
	return time.Since(start)
}

func (r *run) sendLoop(ctx context.Context, s *sender, t0 time.Time, interval time.Duration, until time.Time, max uint64) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	codec, size := r.cfg.Codec, r.cfg.Size
	binary := payload.IsBinary(codec)
	for k := 0; ; k++ {
		due := t0.Add(time.Duration(k) * interval)
		q := s.seq.Load()
		if !due.Before(until) || (max > 0 && q >= max) || s.c.dead.Load() {
			return
		}
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		s.buf = codec.Append(s.buf[:0], payload.Meta{Run: r.runID, Sender: uint32(s.id), Seq: q, SentNS: r.nowNS()}, size)
		write := s.c.ws.WriteText
		if binary {
			write = s.c.ws.WriteBinary
		}
		if err := write(s.buf); err != nil {
			if !r.closing.Load() {
				r.errs.add("write", err)
			}
			s.dead.Store(true)
			return
		}
		s.seq.Store(q + 1)
		r.sent.Add(1)
	}
}

// expected returns the deliveries due so far: for every socket, the
// messages its room's senders sent since it joined (its own excluded unless
// Self), and how many of them were delivered, for the sockets still open
// (live) or for all.
func (r *run) expected(liveOnly bool) (exp, got int64) {
	r.connsMu.Lock()
	defer r.connsMu.Unlock()
	for _, c := range r.conns {
		if liveOnly && c.dead.Load() {
			continue
		}
		for i, s := range c.room.senders {
			if i == c.selfSlot && !r.cfg.Self {
				continue
			}
			exp += max(int64(s.seq.Load()-c.seqs[i].Base())-s.refused.Load(), 0)
		}
		got += c.delivered.Load()
	}
	return exp, got
}

// drain waits until every live socket got what it is due, or the drain
// time passes.
func (r *run) drain(ctx context.Context) {
	deadline := time.Now().Add(r.cfg.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if exp, got := r.expected(true); got >= exp {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
