package main

import (
	"errors"
	"fmt"

	"github.com/warrenhq/warren/runtime/object"
)

// IngestError is a rejected batch or a failed poll, as viewers are shown it.
type IngestError struct {
	At       int64    `json:"at"`     // Unix ms
	Source   string   `json:"source"` // "http", "websocket" or "poll"
	Message  string   `json:"message"`
	Problems []string `json:"problems,omitempty"`
}

const maxRecentErrors = 10

// skipped returns the report of unreadable buckets for one operation: each is
// logged (the bucket is left out, the rest of the answer stands).
func (s *Stream) skipped(op string) func(error) {
	return func(err error) {
		s.st.Logger().Warn("dashboard: unreadable bucket skipped", "stream", s.name, "op", op, "err", err)
	}
}

// recordError keeps a rejected batch or failed poll among the stream's recent
// errors and shows it to the viewers.
func (s *Stream) recordError(source string, err error) {
	ie := IngestError{At: s.st.Now().UnixMilli(), Source: source, Message: err.Error()}
	var be *BatchError
	if errors.As(err, &be) {
		ie.Message = "batch rejected, nothing stored"
		ie.Problems = be.Problems
		if be.More > 0 {
			ie.Problems = append(ie.Problems, fmt.Sprintf("and %d more", be.More))
		}
	}
	s.snapshots.clear() // snapshots carry the recent errors
	s.errors = append(s.errors, ie)
	if len(s.errors) > maxRecentErrors {
		s.errors = s.errors[len(s.errors)-maxRecentErrors:]
	}
	if err := object.PutJSON(s.st.Storage(), "errors", s.errors); err != nil {
		s.st.Logger().Warn("dashboard: store error", "err", err)
	}
	s.broadcast(map[string]any{"type": "ingest-error", "error": ie})
}
