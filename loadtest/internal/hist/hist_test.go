package hist

import (
	"math"
	"sync"
	"testing"
	"time"
)

func TestRecorderPercentiles(t *testing.T) {
	r := NewRecorder(4)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 1; i <= 1000; i++ {
				r.Record(g, time.Duration(i)*time.Millisecond)
			}
		})
	}
	wg.Wait()
	h := New()
	r.Rotate(h)
	s := Summarize(h)
	near := func(name string, got, want float64) {
		if math.Abs(got-want)/want > 0.002 {
			t.Errorf("%s = %v, want ≈ %v", name, got, want)
		}
	}
	if s.Count != 4000 {
		t.Errorf("count = %d", s.Count)
	}
	near("p50", s.P50, 500)
	near("p90", s.P90, 900)
	near("p99", s.P99, 990)
	near("p99.9", s.P999, 999)
	near("max", s.Max, 1000)
	near("min", s.Min, 1)

	r.Rotate(h) // shards were reset: nothing new
	if h.TotalCount() != 4000 {
		t.Errorf("after second rotate count = %d", h.TotalCount())
	}
	if (Summarize(New()) != Summary{}) {
		t.Error("empty summary not zero")
	}
}

func BenchmarkRecord(b *testing.B) {
	r := NewRecorder(16)
	for b.Loop() {
		r.Record(3, 1234*time.Microsecond)
	}
}
