// Package payload shapes the frames a load test sends and recognises the
// measurement data in the frames it receives.
//
// Every measured frame carries a Token: run id, sender id, sequence number
// and send time, as 48 fixed-width hex digits after the marker "wlt1:". A
// Codec wraps the token in a protocol (raw text for relay servers, JSON for
// the durable-chat-template protocol). Decoders never allocate and never
// panic on any input.
package payload

import "fmt"

// Meta is the measurement data carried by one frame.
type Meta struct {
	Run    uint32 // distinguishes this run's frames from anyone else's
	Sender uint32 // global sender index within the run
	Seq    uint64 // per-sender sequence number, from 0
	SentNS int64  // send time, ns since the run's monotonic epoch
}

// Kind tells how a decoded frame relates to the message it carries.
type Kind uint8

const (
	// Primary is the broadcast of a sent message: counted for delivery,
	// duplicates and ordering.
	Primary Kind = iota
	// Secondary is a follow-up about an already-sent message (a chat
	// "update"): it counts as the delivery if it arrives first, and is
	// otherwise counted apart, never as a duplicate.
	Secondary
	// Refused says the server refused the message and told its sender why (a chat
	// "update" with an "error" member): no one is due it.
	Refused
)

// Codec encodes and decodes one wire protocol.
type Codec interface {
	// Name is the value of the -payload flag selecting this codec.
	Name() string
	// Append appends a frame carrying m to dst, padded with filler so the
	// frame is at least size bytes long.
	Append(dst []byte, m Meta, size int) []byte
	// Decode finds the measurement data in frame; ok is false for frames
	// that carry none (greetings, history, garbage).
	Decode(frame []byte) (m Meta, k Kind, ok bool)
}

// Binary is implemented by codecs whose frames must go out as binary WebSocket
// messages (their bytes are not UTF-8 text).
type Binary interface {
	Binary() bool
}

// IsBinary reports whether c's frames are binary messages.
func IsBinary(c Codec) bool {
	b, ok := c.(Binary)
	return ok && b.Binary()
}

// Marker starts every token.
const Marker = "wlt1:"

// TokenLen is the length of a token, marker included.
const TokenLen = len(Marker) + 48

const hexdig = "0123456789abcdef"

// AppendToken appends the token for m.
func AppendToken(dst []byte, m Meta) []byte {
	dst = append(dst, Marker...)
	dst = appendHex(dst, uint64(m.Run), 8)
	dst = appendHex(dst, uint64(m.Sender), 8)
	dst = appendHex(dst, m.Seq, 16)
	dst = appendHex(dst, uint64(m.SentNS), 16)
	return dst
}

func appendHex(dst []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, hexdig[(v>>(4*uint(i)))&0xf])
	}
	return dst
}

// ParseToken parses a token at the start of b.
func ParseToken(b []byte) (Meta, bool) {
	if len(b) < TokenLen || string(b[:len(Marker)]) != Marker {
		return Meta{}, false
	}
	b = b[len(Marker):]
	run, ok1 := parseHex(b[0:8])
	snd, ok2 := parseHex(b[8:16])
	seq, ok3 := parseHex(b[16:32])
	ns, ok4 := parseHex(b[32:48])
	if !(ok1 && ok2 && ok3 && ok4) {
		return Meta{}, false
	}
	return Meta{Run: uint32(run), Sender: uint32(snd), Seq: seq, SentNS: int64(ns)}, true
}

func parseHex(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}

func pad(dst []byte, start, size int) []byte {
	for len(dst)-start < size {
		dst = append(dst, 'x')
	}
	return dst
}

// Relay is the codec for plain relay servers: the frame is the token, a
// space and filler. It accepts the token anywhere in the first bytes of a
// frame, so servers that prefix frames (e.g. with a sender name) still work.
type Relay struct{}

func (Relay) Name() string { return "relay" }

func (Relay) Append(dst []byte, m Meta, size int) []byte {
	start := len(dst)
	dst = AppendToken(dst, m)
	if size > TokenLen {
		dst = append(dst, ' ')
	}
	return pad(dst, start, size)
}

// relayScan bounds how far into a frame Relay looks for the marker.
const relayScan = 256

func (Relay) Decode(frame []byte) (Meta, Kind, bool) {
	lim := min(len(frame), relayScan+TokenLen)
	for i := 0; i+TokenLen <= lim; i++ {
		if frame[i] == 'w' {
			if m, ok := ParseToken(frame[i:]); ok {
				return m, Primary, true
			}
		}
	}
	return Meta{}, Primary, false
}

// Lookup returns the codec named name.
func Lookup(name string) (Codec, error) {
	switch name {
	case "relay":
		return Relay{}, nil
	case "chat":
		return Chat{}, nil
	case "globe":
		return Globe{}, nil
	}
	return nil, fmt.Errorf("payload: unknown mode %q (want relay or chat)", name)
}
