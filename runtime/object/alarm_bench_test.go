package object_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
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
