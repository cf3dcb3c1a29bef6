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

// Globe is the codec for the multiplayer-globe game (apps/multiplayer-globe).
// Each message is a bot's steering input carrying the token as its probe:
//
//	{"type":"input","h":<heading>,"m":1,"p":"<token>"}
//
// and the server lists every probe it received since the previous tick in that
// tick's "a" array, broadcast to every socket of the session. So a delivery is
// input → next tick received: tick wait (up to 50 ms at 20 Hz) plus broadcast.
// The heading follows from sender and sequence number so bots wander.
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
