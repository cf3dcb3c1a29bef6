package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/warrenhq/warren/apps/collab-editor/internal/yupdate"
)

// BenchmarkLateJoiner measures a late joiner's full sync of a document of the
// given text size: dial, the server's step 1 and the client's, step 2 with the
// whole state, applied by a Go Yjs peer, until its text is complete; and, as
// ms-server-catch-up, the same until step 2 arrives, not applied. The
// document is compacted and its object evicted before every join, so each one
// also pays the cold start (the snapshot read and parsed). The text is written
// a word (8 bytes) at a time, each word its own Yjs item, so a 1 MB document
// holds 131,072 items (real typing makes one item per run of consecutive
// characters); 1.5 MB is about the largest of these within the default
// MaxDocumentBytes (4 MiB of state: the text and about 10 bytes an item).
//
//	GOWORK=off go test -run '^$' -bench LateJoiner -benchtime 5x .
func BenchmarkLateJoiner(b *testing.B) {
	for _, kb := range []int{256, 1024, 1536} {
		b.Run(fmt.Sprintf("%dKB", kb), func(b *testing.B) {
			ts := newTestServer(b, Policy{UpdateBurst: 64 << 20}) // written faster than a typist
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
			var catchUp time.Duration
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
				// the server's part: a joiner that does not apply what it gets
				waitUntil(b, "no sockets", func() bool { return ts.stats("big").Sockets == 0 })
				ts.rt.EvictAll()
				start := time.Now()
				r := ts.dialRaw("/parties/document/big")
				r.waitFor("step 2", func() bool { return r.synced })
				catchUp += time.Since(start)
				r.conn.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(len(state)), "state-bytes")
			b.ReportMetric(catchUp.Seconds()*1e3/float64(b.N), "ms-server-catch-up")
		})
	}
}

// BenchmarkInsertsAtStart is issue 14 finding 2: two updates of two clients each
// typing n characters backwards. Before, the server applied each update to a
// y-crdt document in the turn (ycrdt-apply: quadratic, the document answered
// nobody meanwhile); now it parses and stores them (store), merges them for a
// joiner's catch-up and a compaction (merge), and reads the text outside the
// turn when asked (text).
//
//	GOWORK=off go test -run '^$' -bench InsertsAtStart -benchtime 1x .
func BenchmarkInsertsAtStart(b *testing.B) {
	for _, n := range []int{1000, 2000, 4000} {
		ua, ub := insertsAtStart(1, n), insertsAtStart(2, n)
		b.Run(fmt.Sprintf("ycrdt-apply-%d", n), func(b *testing.B) {
			for b.Loop() {
				d := newYDoc()
				d.Apply(ua)
				d.Apply(ub)
			}
		})
		var pa, pb *yupdate.Update
		b.Run(fmt.Sprintf("store-%d", n), func(b *testing.B) {
			for b.Loop() {
				pa, _ = yupdate.Parse(ua)
				pb, _ = yupdate.Parse(ub)
			}
		})
		var m *yupdate.Update
		b.Run(fmt.Sprintf("merge-%d", n), func(b *testing.B) {
			for b.Loop() {
				m, _ = yupdate.Merge(mustParse(emptyUpdate), pa, pb)
			}
		})
		b.Run(fmt.Sprintf("text-%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := yupdate.Text(m, TextName, Policy{}.withDefaults().TextSteps); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
