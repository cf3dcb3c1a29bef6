package main

import (
	"encoding/json"
	"errors"
	"fmt"
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

var errFrame = errors.New("collab-editor: malformed frame")

// maxVarint bounds varuints to what lib0 writes for JavaScript numbers (53 bits).
const maxVarint = 1<<53 - 1

// reader decodes lib0 encodings with bounds checks: it never panics, never
// allocates more than the input's length and never loops past its end.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uint() uint64 {
	var x uint64
	for shift := uint(0); ; shift += 7 {
		if r.err != nil {
			return 0
		}
		if len(r.b) == 0 || shift > 56 {
			r.err = errFrame
			return 0
		}
		c := r.b[0]
		r.b = r.b[1:]
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			break
		}
	}
	if x > maxVarint {
		r.err = errFrame
		return 0
	}
	return x
}

func (r *reader) bytes() []byte {
	n := r.uint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errFrame
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string { return string(r.bytes()) }

func appendUint(b []byte, x uint64) []byte {
	for x >= 0x80 {
		b = append(b, byte(x)|0x80)
		x >>= 7
	}
	return append(b, byte(x))
}

func appendBytes(b, v []byte) []byte { return append(appendUint(b, uint64(len(v))), v...) }

// frame is one decoded client message.
type frame struct {
	Type     uint64 // msgSync, msgAwareness, msgAuth, msgQueryAwareness or unknown
	SyncType uint64 // for msgSync
	Payload  []byte // sync payload or awareness update
}

// decodeFrame decodes one y-websocket message. Trailing bytes are allowed, as lib0
// decoders ignore them.
func decodeFrame(b []byte) (frame, error) {
	r := &reader{b: b}
	f := frame{Type: r.uint()}
	switch f.Type {
	case msgSync:
		f.SyncType = r.uint()
		if r.err == nil && f.SyncType > syncUpdate {
			return f, fmt.Errorf("%w: sync message type %d", errFrame, f.SyncType)
		}
		f.Payload = r.bytes()
	case msgAwareness:
		f.Payload = r.bytes()
	}
	return f, r.err
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
	r := &reader{b: b}
	n := r.uint()
	if r.err != nil {
		return nil, r.err
	}
	if n > maxAwarenessEntries || n > uint64(len(r.b)) {
		return nil, fmt.Errorf("%w: %d awareness entries", errFrame, n)
	}
	out := make([]awarenessEntry, 0, n)
	for range n {
		e := awarenessEntry{Client: r.uint(), Clock: r.uint()}
		s := r.bytes()
		if r.err != nil {
			return nil, r.err
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
	r := &reader{b: b}
	n := r.uint()
	if r.err == nil && n > uint64(len(b)) {
		return nil, errFrame
	}
	var out [][]byte
	for i := uint64(0); i < n && r.err == nil; i++ {
		out = append(out, r.bytes())
	}
	return out, r.err
}
