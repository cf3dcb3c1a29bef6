package object_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// latencyObj reports how late each alarm fired.
type latencyObj struct {
	st   *object.State
	late chan time.Duration
}

func (o *latencyObj) Alarm(ctx context.Context, info object.AlarmInfo) error {
	o.late <- time.Since(info.ScheduledTime)
	return nil
}

// BenchmarkAlarmLatency measures, on the real clock and with no other load, how long
// after its time an alarm's handler starts (target: p99 under 10 ms). Each alarm is set
// 20 ms ahead, so the commit of the turn that sets it is not counted.
func BenchmarkAlarmLatency(b *testing.B) {
	rt, err := object.New(object.Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	late := make(chan time.Duration, 1)
	ns, err := object.Register(rt, "latency", func(ctx context.Context, st *object.State) (*latencyObj, error) {
		return &latencyObj{st: st, late: late}, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	stub := ns.GetByName("l")
	var lat []time.Duration
	for b.Loop() {
		err := ns.RunLocal(context.Background(), stub, func(ctx context.Context, o *latencyObj) error {
			return o.st.SetAlarm(time.Now().Add(20 * time.Millisecond))
		})
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, <-late)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

// alarmBox is a Box with an alarm handler (SetAlarm refuses a type without one).
type alarmBox struct{ st *object.State }

func (o *alarmBox) Alarm(ctx context.Context, info object.AlarmInfo) error { return nil }

// BenchmarkSetAlarm16 is 16 objects with 4 callers each (64 goroutines), each turn a
// durable KV put of a new value (synchronous=FULL), with and without a SetAlarm in the same turn to a
// random time 1 to 2 hours ahead (so it moves earlier about half the time). Setting
// an alarm must cost no more than a few percent of a turn: compare the two turns/s.
func BenchmarkSetAlarm16(b *testing.B) {
	for _, alarm := range []bool{false, true} {
		name := "put"
		if alarm {
			name = "put+SetAlarm"
		}
		b.Run(name, func(b *testing.B) {
			rt := objecttest.New(b, object.Config{Clock: object.SystemClock})
			ns, err := object.Register(rt.Runtime, "alarmbox", func(ctx context.Context, st *object.State) (*alarmBox, error) { return &alarmBox{st}, nil })
			if err != nil {
				b.Fatal(err)
			}
			var callers atomic.Int64
			b.SetParallelism((64 + 1) / 2) // GOMAXPROCS is 2 on the reference machine: 64 goroutines
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				stub := ns.GetByName(fmt.Sprint(callers.Add(1) % 16))
				rng := rand.New(rand.NewPCG(uint64(callers.Load()), 1))
				for pb.Next() {
					ahead := time.Hour + time.Duration(rng.Int64N(int64(time.Hour)))
					value := fmt.Appendf(nil, "%d", rng.Int64()) // a new value: SQLite skips writing an unchanged row
					err := ns.RunLocal(context.Background(), stub, func(ctx context.Context, o *alarmBox) error {
						if err := o.st.Storage().Put("k", value); err != nil {
							return err
						}
						if alarm {
							return o.st.SetAlarm(o.st.Now().Add(ahead))
						}
						return nil
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			el := time.Since(start)
			b.ReportMetric(float64(b.N)/el.Seconds(), "turns/s")
			if st := rt.Stats(); st.Commits > 0 {
				b.ReportMetric(float64(st.CommittedTurns)/float64(st.Commits), "turns/batch")
				b.ReportMetric(float64(el.Microseconds())/float64(st.Commits)*16, "µs/batch")
			}
		})
	}
}
