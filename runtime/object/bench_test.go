package object_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// BenchmarkDurablePut64 is one object with 64 concurrent callers, each turn a durable
// KV put (synchronous=FULL). Turns are group-committed: one fsync per batch.
func BenchmarkDurablePut64(b *testing.B) {
	rt := objecttest.New(b, object.Config{Clock: object.SystemClock})
	c := registerCounter(b, rt.Runtime)
	stub := c.ns.GetByName("hot")
	b.SetParallelism((64 + 1) / 2) // GOMAXPROCS is 2 on the reference machine: 64 goroutines
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.increment.Call(context.Background(), stub, 1); err != nil {
				b.Error(err)
				return
			}
		}
	})
	el := time.Since(start)
	st := rt.Stats()
	b.ReportMetric(float64(b.N)/el.Seconds(), "turns/s")
	if st.Commits > 0 {
		b.ReportMetric(float64(st.CommittedTurns)/float64(st.Commits), "turns/batch")
		b.ReportMetric(float64(el.Microseconds())/float64(st.Commits), "µs/batch")
	}
}

// BenchmarkTurnSequential is one caller: every turn is its own batch and its own
// fsync, so ns/op is the cost of one commit batch of one turn.
func BenchmarkTurnSequential(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run(sync, func(b *testing.B) {
			rt := objecttest.New(b, object.Config{Clock: object.SystemClock, Synchronous: sync})
			c := registerCounter(b, rt.Runtime)
			stub := c.ns.GetByName("seq")
			ctx := context.Background()
			for b.Loop() {
				if _, err := c.increment.Call(ctx, stub, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTurnReadOnly is the cost of a turn that writes nothing (no fsync).
func BenchmarkTurnReadOnly(b *testing.B) {
	rt := objecttest.New(b, object.Config{Clock: object.SystemClock})
	c := registerCounter(b, rt.Runtime)
	stub := c.ns.GetByName("ro")
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.get.Call(ctx, stub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkColdActivation measures the first call to an evicted object with a small
// database: open the file, run the constructor, run the turn. It reports p50 and p99.
func BenchmarkColdActivation(b *testing.B) {
	rt := objecttest.New(b, object.Config{Clock: object.SystemClock})
	c := registerCounter(b, rt.Runtime)
	ctx := context.Background()
	const objects = 200
	for i := range objects {
		if _, err := c.increment.Call(ctx, c.ns.GetByName(fmt.Sprint(i)), 1); err != nil {
			b.Fatal(err)
		}
	}
	rt.EvictAll()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		if i%objects == 0 {
			b.StopTimer()
			rt.EvictAll()
			b.StartTimer()
		}
		start := time.Now()
		if _, err := c.get.Call(ctx, c.ns.GetByName(fmt.Sprint(i%objects))); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		i++
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
