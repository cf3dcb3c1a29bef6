package engine

import (
	"time"

	"github.com/warrenhq/warren/loadtest/internal/payload"
	"github.com/warrenhq/warren/loadtest/internal/track"
)

// handleMulti accounts for every token of a frame whose codec implements
// payload.Multi (a game tick acknowledging many inputs). A frame with none is
// counted as unmatched, like any frame without data.
func (r *run) handleMulti(c *conn, mc payload.Multi, p []byte, now int64) {
	found := false
	for from := 0; ; {
		m, kind, next, ok := mc.DecodeNext(p, from)
		if !ok {
			break
		}
		from, found = next, true
		if m.Run != r.runID || int(m.Sender) >= len(r.senders) {
			c.foreign.Add(1)
			continue
		}
		s := r.senders[m.Sender]
		if s.room != c.room {
			c.misrouted.Add(1)
			continue
		}
		if s.slot == c.selfSlot && !r.cfg.Self {
			c.selfEcho.Add(1)
			continue
		}
		switch c.seqs[s.slot].Observe(m.Seq, kind == payload.Secondary) {
		case track.New, track.Reordered:
			c.delivered.Add(1)
			r.lat.Record(c.id, time.Duration(now-m.SentNS))
		}
	}
	if !found {
		c.unmatched.Add(1)
	}
}
