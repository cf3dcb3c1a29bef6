package main

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// TickStats records, process-wide, how long ticks take (the turn's work: step,
// encode, broadcast) and how far apart they run, over a sliding window of the
// last statsWindow ticks. It feeds /api/stats and /metrics.
type TickStats struct {
	ticks   atomic.Int64
	mu      sync.Mutex
	costs   []time.Duration
	gaps    []time.Duration
	ci, gi  int
	players []int
}

const statsWindow = 4096

func newTickStats() *TickStats {
	return &TickStats{costs: make([]time.Duration, 0, statsWindow), gaps: make([]time.Duration, 0, statsWindow)}
}

func (t *TickStats) cost(d time.Duration, players int) {
	t.ticks.Add(1)
	t.mu.Lock()
	if len(t.costs) < statsWindow {
		t.costs = append(t.costs, d)
	} else {
		t.costs[t.ci] = d
		t.ci = (t.ci + 1) % statsWindow
	}
	t.mu.Unlock()
}

func (t *TickStats) interval(d time.Duration) {
	t.mu.Lock()
	if len(t.gaps) < statsWindow {
		t.gaps = append(t.gaps, d)
	} else {
		t.gaps[t.gi] = d
		t.gi = (t.gi + 1) % statsWindow
	}
	t.mu.Unlock()
}

// StatsReport is the JSON of /api/stats (milliseconds).
type StatsReport struct {
	Ticks     int64   `json:"ticks"`
	TickRate  int     `json:"tickRate"`
	BudgetMS  float64 `json:"budgetMs"`
	Window    int     `json:"window"` // ticks the percentiles cover
	CostP50MS float64 `json:"tickCostP50Ms"`
	CostP99MS float64 `json:"tickCostP99Ms"`
	CostMaxMS float64 `json:"tickCostMaxMs"`
	GapP50MS  float64 `json:"tickIntervalP50Ms"`
	GapP99MS  float64 `json:"tickIntervalP99Ms"`
	GapMaxMS  float64 `json:"tickIntervalMaxMs"`
}

func pct(s []time.Duration, p float64) float64 {
	if len(s) == 0 {
		return 0
	}
	i := int(p * float64(len(s)-1))
	return float64(s[i]) / 1e6
}

// Report summarizes the window.
func (t *TickStats) Report() StatsReport {
	t.mu.Lock()
	c, g := slices.Clone(t.costs), slices.Clone(t.gaps)
	t.mu.Unlock()
	slices.Sort(c)
	slices.Sort(g)
	return StatsReport{
		Ticks: t.ticks.Load(), TickRate: TickRate, BudgetMS: 1000 / TickRate, Window: len(c),
		CostP50MS: pct(c, .5), CostP99MS: pct(c, .99), CostMaxMS: pct(c, 1),
		GapP50MS: pct(g, .5), GapP99MS: pct(g, .99), GapMaxMS: pct(g, 1),
	}
}
