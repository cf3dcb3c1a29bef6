// Package hist records latencies from many goroutines into HDR histograms
// (microsecond resolution, 3 significant digits, up to one hour) and
// summarises them as percentiles.
package hist

import (
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

const (
	minUS = 1
	maxUS = int64(time.Hour / time.Microsecond)
	sig   = 3
)

// New returns an empty histogram of microseconds with the package's range.
func New() *hdr.Histogram { return hdr.New(minUS, maxUS, sig) }

// Recorder is a sharded interval recorder: Record is safe for concurrent
// use (each shard has its own lock) and Rotate drains every shard.
type Recorder struct {
	shards []shard
}

type shard struct {
	mu sync.Mutex
	h  *hdr.Histogram
	_  [40]byte // keep shards' locks on separate cache lines
}

// NewRecorder returns a recorder with n shards (at least 1).
func NewRecorder(n int) *Recorder {
	r := &Recorder{shards: make([]shard, max(n, 1))}
	for i := range r.shards {
		r.shards[i].h = New()
	}
	return r
}

// Record adds d to shard i mod the number of shards. Values are clamped to
// the histogram's range.
func (r *Recorder) Record(i int, d time.Duration) {
	us := int64(d / time.Microsecond)
	us = min(max(us, minUS), maxUS)
	s := &r.shards[uint(i)%uint(len(r.shards))]
	s.mu.Lock()
	s.h.RecordValue(us)
	s.mu.Unlock()
}

// Rotate merges every shard into into and resets the shards.
func (r *Recorder) Rotate(into *hdr.Histogram) {
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		into.Merge(s.h)
		s.h.Reset()
		s.mu.Unlock()
	}
}

// Summary is the percentile view of a histogram, in milliseconds.
type Summary struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min_ms"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

// Summarize returns h's percentiles; all zero when h is empty.
func Summarize(h *hdr.Histogram) Summary {
	n := h.TotalCount()
	if n == 0 {
		return Summary{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Summary{
		Count: n,
		Min:   ms(h.Min()),
		Mean:  h.Mean() / 1000,
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}
