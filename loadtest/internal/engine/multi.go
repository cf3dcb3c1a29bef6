package engine

import "github.com/warrenhq/warren/loadtest/internal/payload"

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
		r.account(c, m, kind, now)
	}
	if !found {
		c.unmatched.Add(1)
	}
}
