package history_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/history"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

type counter struct {
	st    *object.State
	value int64
}

func newCounter(ctx context.Context, st *object.State) (*counter, error) {
	v, _, err := object.GetJSON[int64](st.Storage(), "value")
	return &counter{st: st, value: v}, err
}

func (c *counter) Increment(ctx context.Context, by int64) (int64, error) {
	c.value += by
	return c.value, object.PutJSON(c.st.Storage(), "value", c.value)
}

var incrementM = object.NewMethod("increment", (*counter).Increment)

// hotCounter starts a runtime on a data directory of its own, with a history when
// on (both closed when b ends), and returns it with the stub of its one counter.
func hotCounter(b *testing.B, on bool) (*objecttest.Runtime, object.Stub[counter]) {
	dir := b.TempDir()
	cfg := object.Config{DataDir: dir, Clock: object.SystemClock}
	if on {
		h, err := history.New(history.Config{Dir: filepath.Join(dir, ".history")})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { h.Close() })
		cfg.History = h
	}
	rt := objecttest.New(b, cfg)
	ns, err := object.Register(rt.Runtime, "counter", newCounter, object.Methods(incrementM))
	if err != nil {
		b.Fatal(err)
	}
	return rt, ns.GetByName("hot")
}

// BenchmarkDurablePut64 is the runtime's benchmark of that name (one object, 64
// concurrent callers, each turn a durable KV put, synchronous=FULL) without and with
// history, alternated: with -count N the two run N times each, off then on, so their
// ratio is measured under the same load.
func BenchmarkDurablePut64(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			rt, stub := hotCounter(b, on)
			b.SetParallelism((64 + 1) / 2) // GOMAXPROCS is 2 on the reference machine: 64 goroutines
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := incrementM.Call(context.Background(), stub, 1); err != nil {
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
			}
		})
	}
}

// BenchmarkDurablePut64Alternated runs BenchmarkDurablePut64's load on two runtimes
// in one process, one without and one with history, in alternating slices of 250 ms
// (each round runs both, the order swapped every round), so that a changing machine
// load falls on both arms alike. It reports each arm's turns/s and on/off, the ratio
// of the totals, and the median of the rounds' ratios (also logged in one line, with
// the load average). Each b.N is 8 rounds.
func BenchmarkDurablePut64Alternated(b *testing.B) {
	type arm struct {
		stub  object.Stub[counter]
		turns int64
		took  time.Duration
	}
	var arms [2]*arm
	for i, on := range []bool{false, true} {
		_, stub := hotCounter(b, on)
		arms[i] = &arm{stub: stub}
		if _, err := incrementM.Call(context.Background(), arms[i].stub, 1); err != nil {
			b.Fatal(err)
		}
	}
	run := func(a *arm, d time.Duration) float64 {
		var n atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Since(start) < d {
					if _, err := incrementM.Call(context.Background(), a.stub, 1); err != nil {
						b.Error(err)
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		took := time.Since(start)
		a.turns += n.Load()
		a.took += took
		return float64(n.Load()) / took.Seconds()
	}
	var ratios []float64
	b.ResetTimer()
	for r := range 8 * b.N {
		var rate [2]float64
		for k := range 2 {
			i := k ^ r&1
			rate[i] = run(arms[i], 250*time.Millisecond)
		}
		ratios = append(ratios, rate[1]/rate[0])
	}
	sort.Float64s(ratios)
	off := float64(arms[0].turns) / arms[0].took.Seconds()
	on := float64(arms[1].turns) / arms[1].took.Seconds()
	load, _ := os.ReadFile("/proc/loadavg")
	b.Logf("history on/off = %.3f (turns/s of all rounds: on %.0f, off %.0f), median round %.3f, %d rounds; load average %s",
		on/off, on, off, ratios[len(ratios)/2], len(ratios), strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	b.ReportMetric(off, "off-turns/s")
	b.ReportMetric(on, "on-turns/s")
	b.ReportMetric(on/off, "on/off")
	b.ReportMetric(ratios[len(ratios)/2], "median-round-on/off")
}
