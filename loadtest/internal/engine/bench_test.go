package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

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
		m := payload.Meta{Run: r.runID, Sender: 0, Seq: uint64(i), SentNS: 1000}
		if _, ok := codec.(payload.Stamped); ok { // a tick as the server sends it
			frames[i] = globeTick(r.epochNS/1000-7000, m)
			continue
		}
		frames[i] = codec.Append(nil, m, 128)
	}
	r.stamping.Store(true)
	return r, c, frames
}

func TestHandleAllocatesNothing(t *testing.T) {
	for _, codec := range []payload.Codec{payload.Relay{}, payload.Chat{}, payload.Globe{}} {
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
	for _, codec := range []payload.Codec{payload.Relay{}, payload.Chat{}, payload.Globe{}} {
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

// globeTick is a multiplayer-globe tick stamped at (Unix µs) acknowledging m.
func globeTick(at int64, m payload.Meta) []byte {
	b := fmt.Appendf(nil, `{"type":"tick","tick":%d,"ts":%d,"at":%d,"p":[[1,10.5,-20.25,90],[2,0,0,0]],"a":["`, m.Seq, at/1000, at)
	b = payload.AppendToken(b, m)
	return append(b, `"]}`...)
}

// TestBroadcastLatency: a stamped frame's receive time minus its stamp goes
// into the broadcast histogram, only while senders send; the input-to-tick
// latency is still recorded from the tokens.
func TestBroadcastLatency(t *testing.T) {
	codec := payload.Globe{}
	r, c, _ := receiver(t, codec)
	now := int64(50 * time.Millisecond)                                                  // tester clock: 50 ms after the epoch
	tick := globeTick(r.epochNS/1000+int64(50*time.Millisecond-7*time.Millisecond)/1000, // sent 7 ms earlier
		payload.Meta{Run: r.runID, Sender: 0, Seq: 5, SentNS: int64(20 * time.Millisecond)})
	r.handle(c, codec, tick, now)
	r.stamping.Store(false)
	r.handle(c, codec, tick, now) // outside the send window: not recorded
	res := r.result(time.Now(), nil, time.Second)
	b := res.BroadcastLatency
	if b == nil || b.Count != 1 || b.Max < 6.99 || b.Max > 7.01 {
		t.Fatalf("broadcast latency %+v", b)
	}
	if l := res.Latency; l.Count != 1 || l.Max < 29.9 || l.Max > 30.1 {
		t.Fatalf("input-to-tick latency %+v", l)
	}
	r2, c2, frames := receiver(t, payload.Relay{})
	r2.handle(c2, payload.Relay{}, frames[0], now)
	if res := r2.result(time.Now(), nil, time.Second); res.BroadcastLatency != nil {
		t.Fatalf("relay has no stamps: %+v", res.BroadcastLatency)
	}
}
