package main

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkLateJoiner measures a late joiner's full sync of a document of the
// given text size: dial, the server's step 1 and the client's, step 2 with the
// whole state, applied by a Go Yjs peer, until its text is complete. The
// document is compacted and its object evicted before every join, so each one
// also pays the cold start (snapshot read and applied to the server's Go doc).
// The text is written a word (8 bytes) at a time, each word its own Yjs item,
// so a 1 MB document holds 131,072 items (real typing makes one item per run of
// consecutive characters), by one client per 2 MiB.
//
//	GOWORK=off go test -run '^$' -bench LateJoiner -benchtime 5x .
func BenchmarkLateJoiner(b *testing.B) {
	for _, kb := range []int{256, 1024, 1536, 2048, 4096} {
		b.Run(fmt.Sprintf("%dKB", kb), func(b *testing.B) {
			ts := newTestServer(b, Policy{})
			words := kb << 10 / 8
			const perUpdate = 4096    // words per update: well under the 1 MiB message limit
			const perWriter = 1 << 18 // words per writing client (2 MiB): its clocks stay under MaxClock
			var w *yclient
			total := 0
			for i := 0; i < words; i += perUpdate {
				if i%perWriter == 0 {
					if w != nil {
						w.conn.Close()
					}
					w = ts.dial("/parties/document/big")
					w.waitFor("sync", func() bool { return w.synced })
				}
				w.mu.Lock()
				sv, _ := w.doc.StateVector()
				txt := w.doc.doc.GetText(TextName)
				for j := i; j < i+perUpdate && j < words; j++ {
					// at the start: one item per word (never merged with the
					// previous one), and no walk over the text to find the position
					txt.Insert(0, fmt.Sprintf("w%06d ", j%1000000), nil)
					total += 8
				}
				u, _ := w.doc.Diff(sv)
				w.mu.Unlock()
				w.write(syncFrame(syncUpdate, u))
			}
			n := int64((words + perUpdate - 1) / perUpdate)
			waitUntil(b, "stored", func() bool { return ts.stats("big").LastSeq == n })
			ts.rt.Clock.Advance(11 * time.Second)
			waitUntil(b, "compacted", func() bool { return ts.stats("big").LogRows == 0 })
			_, state := ts.get("/parties/document/big/state")
			w.conn.Close()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				waitUntil(b, "no sockets", func() bool { return ts.stats("big").Sockets == 0 })
				ts.rt.EvictAll()
				b.StartTimer()
				c := ts.dial("/parties/document/big")
				c.waitFor("full text", func() bool {
					if !c.synced {
						return false
					}
					s, _ := c.doc.Text()
					return len(s) == total
				})
				b.StopTimer()
				c.conn.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(len(state)), "state-bytes")
		})
	}
}
