package main

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// OnConnect subscribes a viewer (unless ?mode=ingest) and sends it the current
// window (?window=seconds, default 300, at most 3,600) before any delta: a
// Snapshot of at most MaxAnswerPoints buckets.
func (s *Stream) OnConnect(ctx context.Context, ws *object.WebSocket, r *http.Request) error {
	qv := r.URL.Query()
	if qv.Get("mode") == "ingest" {
		return nil
	}
	if err := ws.SetTags("view"); err != nil {
		return err
	}
	window := int64(300)
	if v, err := strconv.ParseInt(qv.Get("window"), 10, 64); err == nil && v > 0 {
		window = min(v, 3600, int64(s.cfg.Keep1s/time.Second))
	}
	m, err := s.snapshot(window)
	if err != nil {
		return err
	}
	return ws.Send(m)
}

// OnMessage ingests a batch sent over the socket (the same body as POST .../events)
// and answers {"type":"ack","accepted":n} after the commit, or {"type":"error",...}.
func (s *Stream) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	if m.Binary {
		return ws.SendJSON(map[string]any{"type": "error", "error": "send batches as text frames"})
	}
	evs, err := s.decode(m.Data)
	if err == nil {
		err = s.ingest(evs)
	}
	var be *BatchError
	if errors.As(err, &be) {
		s.recordError("websocket", err)
		return ws.SendJSON(map[string]any{"type": "error", "error": "batch rejected, nothing stored", "problems": be.Problems})
	}
	if err != nil {
		return err
	}
	return ws.SendJSON(map[string]any{"type": "ack", "accepted": len(evs)})
}
