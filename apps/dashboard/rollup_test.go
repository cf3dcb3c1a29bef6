package main

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// newTestStreams registers the namespace on an objecttest runtime (real SQLite, fake clock).
func newTestStreams(t *testing.T, cfg Config) (*objecttest.Runtime, *object.Namespace[Stream]) {
	t.Helper()
	rt := objecttest.New(t, object.Config{})
	cfg.SelfStream = "-"
	cfg = cfg.withDefaults()
	ns, err := object.Register(rt.Runtime, "stream", func(ctx context.Context, st *object.State) (*Stream, error) {
		return newStream(ctx, st, &cfg, rt.Runtime)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rt, ns
}

func run(t *testing.T, ns *object.Namespace[Stream], name string, f func(s *Stream) error) {
	t.Helper()
	if err := ns.RunLocal(context.Background(), ns.GetByName(name), func(_ context.Context, s *Stream) error { return f(s) }); err != nil {
		t.Fatal(err)
	}
}

func query(t *testing.T, ns *object.Namespace[Stream], name string, res, from, to int64) map[string]*Series {
	t.Helper()
	var out map[string]*Series
	run(t, ns, name, func(s *Stream) (err error) {
		out, _, err = queryRange(s.st.SQL(), s.seriesRefs(nil), res, from, to, MaxAnswerPoints, func(err error) { t.Errorf("unreadable bucket: %v", err) })
		return err
	})
	return out
}

func TestRollupsDownsampleAndRetention(t *testing.T) {
	rt, ns := newTestStreams(t, Config{})
	t0 := rt.Clock.Now().Truncate(time.Hour)
	rt.Clock.Set(t0)
	// 3 batches over 3 seconds of minute 0, and one in minute 1: values 1..100 each.
	for _, off := range []time.Duration{0, time.Second, 2 * time.Second, 61 * time.Second} {
		rt.Clock.Set(t0.Add(off))
		evs := make([]Event, 100)
		for j := range evs {
			evs[j] = Event{Series: "lat", TsMs: t0.Add(off).UnixMilli(), Value: float64(j + 1)}
		}
		run(t, ns, "s", func(s *Stream) error { return s.ingest(evs) })
	}
	sec := query(t, ns, "s", Res1s, t0.Unix(), t0.Unix()+3600)["lat"]
	if sec == nil || len(sec.T) != 4 {
		t.Fatalf("1 s buckets: %+v", sec)
	}
	if sec.Count[0] != 100 || sec.Sum[0] != 5050 || sec.Min[0] != 1 || sec.Max[0] != 100 {
		t.Errorf("first 1 s bucket: count %d sum %v min %v max %v", sec.Count[0], sec.Sum[0], sec.Min[0], sec.Max[0])
	}
	if p := sec.P99[0]; math.Abs(p-99) > 2 {
		t.Errorf("p99 = %v, want about 99", p)
	}
	if p := sec.P50[0]; math.Abs(p-50) > 1.5 {
		t.Errorf("p50 = %v, want about 50", p)
	}
	// The fake clock's jump past 5 s already fired the downsample schedule once
	// (for minute 0); the last ingestion queued it again.
	run(t, ns, "s", func(s *Stream) error {
		if !s.downsampleQueued {
			return fmt.Errorf("ingest did not schedule downsampling")
		}
		return s.OnSchedule(context.Background(), object.Firing{Name: "downsample"})
	})
	m := query(t, ns, "s", Res1m, t0.Unix(), t0.Unix()+3600)["lat"]
	if m == nil || len(m.T) != 2 || m.Count[0] != 300 || m.Count[1] != 100 || m.Sum[0] != 3*5050 || m.T[1] != t0.Unix()+60 {
		t.Fatalf("1 min buckets: %+v", m)
	}
	if p := m.P99[0]; math.Abs(p-99) > 2 {
		t.Errorf("merged p99 = %v", p)
	}
	h := query(t, ns, "s", Res1h, t0.Unix(), t0.Unix()+3600)["lat"]
	if h == nil || len(h.T) != 1 || h.Count[0] != 400 || h.Max[0] != 100 || h.Min[0] != 1 {
		t.Fatalf("1 h bucket: %+v", h)
	}
	// A late event in minute 0 re-dirties it; downsampling again recomputes it exactly.
	rt.Clock.Set(t0.Add(90 * time.Second))
	run(t, ns, "s", func(s *Stream) error {
		return s.ingest([]Event{{Series: "lat", TsMs: t0.Add(10 * time.Second).UnixMilli(), Value: 1000}})
	})
	run(t, ns, "s", func(s *Stream) error { return s.OnSchedule(context.Background(), object.Firing{Name: "downsample"}) })
	m = query(t, ns, "s", Res1m, t0.Unix(), t0.Unix()+3600)["lat"]
	if m.Count[0] != 301 || m.Max[0] != 1000 {
		t.Fatalf("after a late event: %+v", m)
	}
	// Survives eviction: state is in SQLite.
	rt.EvictAll()
	// Retention: after 2 hours the 1 s buckets are gone, 1 min and 1 h remain.
	rt.Clock.Set(t0.Add(2 * time.Hour))
	run(t, ns, "s", func(s *Stream) error { return s.OnSchedule(context.Background(), object.Firing{Name: "retention"}) })
	if sec := query(t, ns, "s", Res1s, t0.Unix(), t0.Unix()+3600)["lat"]; len(sec.T) != 0 {
		t.Errorf("1 s buckets after retention: %v", sec.T)
	}
	if m := query(t, ns, "s", Res1m, t0.Unix(), t0.Unix()+3600)["lat"]; len(m.T) != 2 {
		t.Errorf("1 min buckets after retention: %v", m.T)
	}
	rt.Clock.Set(t0.Add(8 * 24 * time.Hour))
	run(t, ns, "s", func(s *Stream) error { return s.expire() })
	if m := query(t, ns, "s", Res1m, t0.Unix(), t0.Unix()+3600)["lat"]; len(m.T) != 0 {
		t.Errorf("1 min buckets after 8 days: %v", m.T)
	}
	if h := query(t, ns, "s", Res1h, t0.Unix(), t0.Unix()+3600)["lat"]; len(h.T) != 1 {
		t.Errorf("1 h buckets after 8 days: %v", h.T)
	}
}

func TestSeriesLimit(t *testing.T) {
	rt, ns := newTestStreams(t, Config{MaxSeries: 2})
	ms := rt.Clock.Now().UnixMilli()
	run(t, ns, "s", func(s *Stream) error { return s.ingest([]Event{{"a", ms, 1}, {"b", ms, 1}}) })
	err := ns.RunLocal(context.Background(), ns.GetByName("s"), func(_ context.Context, s *Stream) error {
		return s.ingest([]Event{{"a", ms, 1}, {"c", ms, 1}})
	})
	if err == nil {
		t.Fatal("a third series was accepted")
	}
	got := query(t, ns, "s", Res1s, 0, ms/1000+10)
	if len(got) != 2 || got["a"].Count[0] != 1 {
		t.Fatalf("after the refused batch: %v", got)
	}
}

func BenchmarkIngest1000(b *testing.B) {
	rt := objecttest.New(b, object.Config{})
	cfg := Config{SelfStream: "-"}.withDefaults()
	ns, err := object.Register(rt.Runtime, "stream", func(ctx context.Context, st *object.State) (*Stream, error) {
		return newStream(ctx, st, &cfg, rt.Runtime)
	})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte("[" + func() string {
		s := ""
		for i := range 1000 {
			if i > 0 {
				s += ","
			}
			s += fmt.Sprintf(`{"name":"latency","value":%d}`, i%250)
		}
		return s
	}() + "]")
	stub := ns.GetByName("bench")
	for b.Loop() {
		err := ns.RunLocal(context.Background(), stub, func(_ context.Context, s *Stream) error {
			evs, err := s.decode(body)
			if err != nil {
				return err
			}
			return s.ingest(evs)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
}
