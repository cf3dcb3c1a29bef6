package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// BenchmarkRelayUpdate is one typed update relayed through a document with four
// editors: one sends a Yjs update (one character), the server parses, appends and
// commits it (synchronous=FULL: one fsync), and the three others receive it. One
// update is in flight at a time, as a typist's are. user-µs/op and sys-µs/op are the
// process's CPU (the server and the test's four light clients, which only write or
// count frames) per update, from getrusage.
//
//	GOWORK=off go test -run '^$' -bench RelayUpdate -benchtime 2000x .
func BenchmarkRelayUpdate(b *testing.B) {
	ts := newTestServer(b, Policy{UpdateBurst: 64 << 20, UpdateRate: 64 << 20})
	u := "ws" + strings.TrimPrefix(ts.srv.URL, "http") + "/parties/document/bench"
	dial := func() *websocket.Conn {
		c, _, err := websocket.DefaultDialer.Dial(u, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return c
	}
	got := make(chan struct{}, 64)
	for range 3 {
		c := dial()
		go func() {
			for {
				_, m, err := c.ReadMessage()
				if err != nil {
					return
				}
				if len(m) > 1 && m[0] == msgSync && m[1] == syncUpdate {
					got <- struct{}{}
				}
			}
		}()
	}
	w := dial()
	// A pool of real one-character updates; past its end they are sent again (the
	// server stores and relays a repeated update as any other).
	d := newYDoc()
	var pool [][]byte
	for i := range 500 {
		sv, _ := d.StateVector()
		d.doc.GetText(TextName).Insert(i, "x", nil)
		up, err := d.Diff(sv)
		if err != nil {
			b.Fatal(err)
		}
		pool = append(pool, syncFrame(syncUpdate, up))
	}
	cpu := func() (user, sys time.Duration) {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
	}
	user0, sys0 := cpu()
	n := 0
	for b.Loop() {
		if err := w.WriteMessage(websocket.BinaryMessage, pool[n%len(pool)]); err != nil {
			b.Fatal(err)
		}
		n++
		for i := range 3 {
			select {
			case <-got:
			case <-time.After(10 * time.Second):
				b.Fatalf("update %d: %d of 3 deliveries", n, i)
			}
		}
	}
	user, sys := cpu()
	b.ReportMetric(float64((user-user0).Microseconds())/float64(n), "user-µs/op")
	b.ReportMetric(float64((sys-sys0).Microseconds())/float64(n), "sys-µs/op")
}
