package history_test

import (
	"context"
	"path/filepath"
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
			dir := b.TempDir()
			cfg := object.Config{DataDir: dir, Clock: object.SystemClock}
			if on {
				h, err := history.New(history.Config{Dir: filepath.Join(dir, ".history")})
				if err != nil {
					b.Fatal(err)
				}
				defer h.Close()
				cfg.History = h
			}
			rt := objecttest.New(b, cfg)
			defer rt.Close()
			ns, err := object.Register(rt.Runtime, "counter", newCounter, object.Methods(incrementM))
			if err != nil {
				b.Fatal(err)
			}
			stub := ns.GetByName("hot")
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
