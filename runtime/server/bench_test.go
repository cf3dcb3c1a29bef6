package server_test

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// BenchmarkFanout1000 broadcasts from one object to 1,000 sockets on loopback (clients
// in the same process). One op is one broadcast (1,000 deliveries); it reports
// deliveries/s and the p50/p99 latency from the triggering message leaving the client
// to each delivery. window=1 waits for each broadcast to arrive everywhere (latency);
// window=64 keeps 64 broadcasts in flight (throughput).
//
//	go test -run '^$' -bench Fanout -benchtime 2000x ./server
func BenchmarkFanout1000(b *testing.B) {
	for _, w := range []int64{1, 64} {
		b.Run(fmt.Sprintf("window=%d", w), func(b *testing.B) { benchFanout(b, w) })
	}
}

func benchFanout(b *testing.B, window int64) {
	const n = 1000
	h := start(b, server.Config{MaxConnsPerIP: 2 * n}, object.Config{})
	driver := h.dial("/parties/room/fan?_pk=driver")
	var (
		mu   sync.Mutex
		lats []time.Duration
		got  atomic.Int64
	)
	var wg sync.WaitGroup
	for i := range n {
		c := h.dial(fmt.Sprintf("/parties/room/fan?_pk=c%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			defer func() {
				mu.Lock()
				lats = append(lats, local...)
				mu.Unlock()
			}()
			for {
				_, msg, err := c.ReadMessage()
				if err != nil {
					return
				}
				ts, err := strconv.ParseInt(string(msg), 10, 64)
				if err != nil {
					continue
				}
				local = append(local, time.Duration(time.Now().UnixNano()-ts))
				got.Add(1)
			}
		}()
	}
	waitFor(b, "sockets", func() bool { return h.rt.SocketStats().Open == n+1 })
	b.ResetTimer()
	start := time.Now()
	sent := int64(0)
	for b.Loop() {
		for sent-got.Load()/n >= window {
			time.Sleep(50 * time.Microsecond)
		}
		send(b, driver, "bcast:"+strconv.FormatInt(time.Now().UnixNano(), 10))
		sent++
	}
	for got.Load() < sent*n {
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	h.cancel()
	wg.Wait()
	slices.Sort(lats)
	if len(lats) > 0 {
		b.ReportMetric(float64(len(lats))/elapsed.Seconds(), "deliveries/s")
		b.ReportMetric(float64(lats[len(lats)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds()), "p99-µs")
	}
}
