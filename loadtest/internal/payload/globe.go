package payload

import (
	"bytes"
	"strconv"
)

// Multi is implemented by codecs whose frames may carry several tokens: a game
// tick acknowledging the inputs of many players. The engine then accounts for
// every token of a frame.
type Multi interface {
	// DecodeNext finds the next token in frame at or after index from and
	// returns it with the index to continue from; ok is false when none is left.
	DecodeNext(frame []byte, from int) (m Meta, k Kind, next int, ok bool)
}

// Stamped is implemented by codecs whose frames may carry the server's send
// time: a game tick stamped right before its broadcast. The engine then records
// a second histogram, broadcast latency: receive time − stamp, both wall-clock
// Unix time (sender and tester share the machine, so the same clock).
type Stamped interface {
	// Stamp returns the send time in frame, Unix microseconds; ok is false
	// when the frame has none. It must not allocate.
	Stamp(frame []byte) (unixMicro int64, ok bool)
}

// Globe is the codec for the multiplayer-globe game (apps/multiplayer-globe).
// Each message is a bot's steering input carrying the token as its probe:
//
//	{"type":"input","h":<heading>,"m":1,"p":"<token>"}
//
// and the server lists every probe it received since the previous tick in that
// tick's "a" array, broadcast to every socket of the session. So a delivery is
// input → next tick received: tick wait (up to 50 ms at 20 Hz) plus broadcast.
// The heading follows from sender and sequence number so bots wander.
//
// A tick also carries "at", its send time in Unix microseconds, near its start
// ({"type":"tick","tick":N,"ts":N,"at":N,…}); Stamp reads it, which gives the
// broadcast latency (server send → bot receive) without the tick wait.
type Globe struct{}

func (Globe) Name() string { return "globe" }

func (Globe) Append(dst []byte, m Meta, size int) []byte {
	h := (uint64(m.Sender)*37 + m.Seq*53) % 360
	dst = append(dst, `{"type":"input","h":`...)
	dst = strconv.AppendUint(dst, h, 10)
	dst = append(dst, `,"m":1,"p":"`...)
	dst = AppendToken(dst, m)
	return append(dst, `"}`...)
}

// Decode returns the first token of the frame.
func (g Globe) Decode(frame []byte) (Meta, Kind, bool) {
	m, k, _, ok := g.DecodeNext(frame, 0)
	return m, k, ok
}

var marker = []byte(Marker)

func (Globe) DecodeNext(frame []byte, from int) (Meta, Kind, int, bool) {
	for from >= 0 && from < len(frame) {
		i := bytes.Index(frame[from:], marker)
		if i < 0 {
			break
		}
		at := from + i
		if m, ok := ParseToken(frame[at:]); ok {
			return m, Primary, at + TokenLen, true
		}
		from = at + 1
	}
	return Meta{}, Primary, len(frame), false
}

var atKey = []byte(`"at":`)

// stampWithin bounds the search for "at": it comes right after type, tick and
// ts, so a stray "at": further on (there is none: names and probes are
// escaped) could never be taken for it.
const stampWithin = 96

// Stamp returns the tick's "at" field.
func (Globe) Stamp(frame []byte) (int64, bool) {
	head := frame[:min(len(frame), stampWithin)]
	i := bytes.Index(head, atKey)
	if i < 0 {
		return 0, false
	}
	var v int64
	n := 0
	for _, c := range frame[i+len(atKey):] {
		if c < '0' || c > '9' {
			break
		}
		if n == 18 { // would overflow: not a timestamp
			return 0, false
		}
		v = v*10 + int64(c-'0')
		n++
	}
	return v, n > 0
}
