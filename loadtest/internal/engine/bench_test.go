package engine

import (
	"context"
	"testing"

	"github.com/warrenhq/warren/loadtest/internal/payload"
	"github.com/warrenhq/warren/loadtest/internal/track"
)

// receiver builds a run with one room of one sender and one receiving
// socket, without a network, to measure the per-message accounting.
func receiver(tb testing.TB, codec payload.Codec) (*run, *conn, [][]byte) {
	r, err := newRun(context.Background(), Config{URL: "ws://127.0.0.1:1/{room}", Codec: codec, Conns: 2})
	if err != nil {
		tb.Fatal(err)
	}
	r.layout(true)
	c := &conn{room: r.rooms[0], selfSlot: -1, seqs: make([]track.Seq, 1)}
	frames := make([][]byte, 1024)
	for i := range frames {
		frames[i] = codec.Append(nil, payload.Meta{Run: r.runID, Sender: 0, Seq: uint64(i), SentNS: 1000}, 128)
	}
	return r, c, frames
}

func TestHandleAllocatesNothing(t *testing.T) {
	for _, codec := range []payload.Codec{payload.Relay{}, payload.Chat{}} {
		r, c, frames := receiver(t, codec)
		i := 0
		n := testing.AllocsPerRun(500, func() {
			r.handle(c, codec, frames[i%len(frames)], 5000)
			i++
		})
		if n != 0 {
			t.Errorf("%s: %v allocs per message", codec.Name(), n)
		}
	}
}

// BenchmarkReceivePath is the tester's work per received message after the
// frame is read: decode, sequence accounting, latency histogram.
func BenchmarkReceivePath(b *testing.B) {
	for _, codec := range []payload.Codec{payload.Relay{}, payload.Chat{}} {
		b.Run(codec.Name(), func(b *testing.B) {
			r, c, frames := receiver(b, codec)
			i := 0
			for b.Loop() {
				if i%len(frames) == 0 {
					c.seqs[0].Start(0) // every frame is a first arrival
				}
				r.handle(c, codec, frames[i%len(frames)], 5000)
				i++
			}
		})
	}
}
