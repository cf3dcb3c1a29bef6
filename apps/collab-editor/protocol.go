package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/warrenhq/warren/apps/collab-editor/internal/lib0"
)

// The y-websocket protocol (y-protocols 1.x): every WebSocket message is binary,
// [varuint messageType, payload...].
const (
	msgSync           = 0 // [0, varuint syncType, varbytes payload]
	msgAwareness      = 1 // [1, varbytes awarenessUpdate]
	msgAuth           = 2 // [2, varuint 0 (permission denied), varstring reason]
	msgQueryAwareness = 3 // [3]

	syncStep1  = 0 // payload: the sender's state vector
	syncStep2  = 1 // payload: an update with what the receiver misses
	syncUpdate = 2 // payload: an update
)

// TextName is the name of the shared Y.Text the front end edits
// (ydoc.getText("content")).
const TextName = "content"

var errFrame = errors.New("collab-editor: malformed frame")

func appendUint(b []byte, x uint64) []byte { return lib0.AppendUint(b, x) }
func appendBytes(b, v []byte) []byte       { return lib0.AppendBytes(b, v) }

// frame is one decoded client message.
type frame struct {
	Type     uint64 // msgSync, msgAwareness, msgAuth, msgQueryAwareness or unknown
	SyncType uint64 // for msgSync
	Payload  []byte // sync payload or awareness update
}

// decodeFrame decodes one y-websocket message. Trailing bytes are allowed, as lib0
// decoders ignore them.
func decodeFrame(b []byte) (frame, error) {
	r := lib0.NewReader(b)
	f := frame{Type: r.Uint()}
	switch f.Type {
	case msgSync:
		f.SyncType = r.Uint()
		if r.Err() == nil && f.SyncType > syncUpdate {
			return f, fmt.Errorf("%w: sync message type %d", errFrame, f.SyncType)
		}
		f.Payload = r.Bytes()
	case msgAwareness:
		f.Payload = r.Bytes()
	}
	if r.Err() != nil {
		return f, errFrame
	}
	return f, nil
}

func syncFrame(syncType uint64, payload []byte) []byte {
	return appendBytes([]byte{msgSync, byte(syncType)}, payload)
}

func awarenessFrame(update []byte) []byte { return appendBytes([]byte{msgAwareness}, update) }

// awarenessEntry is one client's awareness state: State is JSON ("null" when the
// client is gone).
type awarenessEntry struct {
	Client uint64          `json:"c"`
	Clock  uint64          `json:"k"`
	State  json.RawMessage `json:"s"`
	// Renewed is when the server last received this state (Unix ms; kept in
	// the socket's attachment, never sent).
	Renewed int64 `json:"t,omitempty"`
}

// maxAwarenessEntries bounds the clients one awareness update may carry.
const maxAwarenessEntries = 64

// decodeAwareness decodes an awareness update: varuint n, then n times
// (varuint clientID, varuint clock, varstring stateJSON). Every state must be
// valid JSON (an object or null).
func decodeAwareness(b []byte) ([]awarenessEntry, error) {
	r := lib0.NewReader(b)
	n := r.Uint()
	if r.Err() != nil {
		return nil, errFrame
	}
	if n > maxAwarenessEntries || n > uint64(r.Len()) {
		return nil, fmt.Errorf("%w: %d awareness entries", errFrame, n)
	}
	out := make([]awarenessEntry, 0, n)
	for range n {
		e := awarenessEntry{Client: r.Uint(), Clock: r.Uint()}
		s := r.Bytes()
		if r.Err() != nil {
			return nil, errFrame
		}
		if !json.Valid(s) || (s[0] != '{' && string(s) != "null") {
			return nil, fmt.Errorf("%w: awareness state is not a JSON object or null", errFrame)
		}
		e.State = json.RawMessage(s)
		out = append(out, e)
	}
	return out, nil
}

func encodeAwareness(es []awarenessEntry) []byte {
	b := appendUint(nil, uint64(len(es)))
	for _, e := range es {
		b = appendUint(b, e.Client)
		b = appendUint(b, e.Clock)
		b = appendBytes(b, e.State)
	}
	return b
}

// decodeUpdates decodes the container encodeUpdates writes.
func decodeUpdates(b []byte) ([][]byte, error) {
	r := lib0.NewReader(b)
	n := r.Count()
	var out [][]byte
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		out = append(out, r.Bytes())
	}
	if r.Err() != nil {
		return nil, errFrame
	}
	return out, nil
}
