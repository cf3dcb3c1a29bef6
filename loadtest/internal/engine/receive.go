package engine

import (
	"time"

	"github.com/warrenhq/warren/loadtest/internal/payload"
	"github.com/warrenhq/warren/loadtest/internal/track"
)

// read is the receive path: one goroutine per socket, no allocation per
// message.
func (r *run) read(c *conn) {
	defer r.readers.Done()
	codec := r.cfg.Codec
	for {
		_, p, err := c.ws.ReadMessage()
		if err != nil {
			if !r.closing.Load() {
				c.dead.Store(true)
				r.open.Add(-1)
				r.serverClose.Add(1)
				r.errs.add("read", err)
			}
			c.ws.Close()
			return
		}
		r.handle(c, codec, p, r.nowNS())
	}
}

// handle accounts for one received message p that arrived at now.
func (r *run) handle(c *conn, codec payload.Codec, p []byte, now int64) {
	if sc, ok := codec.(payload.Stamped); ok && r.stamping.Load() {
		if at, ok := sc.Stamp(p); ok {
			r.bcast.Record(c.id, time.Duration(r.epochNS+now-at*1000))
		}
	}
	if mc, ok := codec.(payload.Multi); ok {
		r.handleMulti(c, mc, p, now)
		return
	}
	m, kind, ok := codec.Decode(p)
	if !ok {
		c.unmatched.Add(1)
		return
	}
	r.account(c, m, kind, now)
}

// account counts one token received on c: foreign (another run or an unknown
// sender), misrouted (another room), an echo of c's own message when those are not
// expected, or a delivery (new or reordered; duplicates are counted by the tracker).
func (r *run) account(c *conn, m payload.Meta, kind payload.Kind, now int64) {
	if m.Run != r.runID || int(m.Sender) >= len(r.senders) {
		c.foreign.Add(1)
		return
	}
	s := r.senders[m.Sender]
	if s.room != c.room {
		c.misrouted.Add(1)
		return
	}
	if kind == payload.Refused {
		if s.slot == c.selfSlot {
			s.refused.Add(1)
		} else {
			c.misrouted.Add(1) // a refusal goes to its sender alone
		}
		return
	}
	if s.slot == c.selfSlot && !r.cfg.Self {
		c.selfEcho.Add(1)
		return
	}
	switch c.seqs[s.slot].Observe(m.Seq, kind == payload.Secondary) {
	case track.New, track.Reordered:
		c.delivered.Add(1)
		r.lat.Record(c.id, time.Duration(now-m.SentNS))
	}
}
