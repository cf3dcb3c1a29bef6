package engine

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warrenhq/warren/loadtest/internal/hist"
	"github.com/warrenhq/warren/loadtest/internal/report"
)

// Run executes one load test and returns its result. It returns an error
// only for a bad configuration; failures during the run are counted in the
// result. It stops by itself within cfg.Timeout, or when ctx ends.
func Run(ctx context.Context, cfg Config) (*report.Result, error) {
	r, err := newRun(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	started := time.Now()
	r.startSampling()
	sctx, stopSampling := context.WithCancel(ctx)
	var sampling sync.WaitGroup
	sampling.Go(func() { r.sampleLoop(sctx) })
	stop := func() { stopSampling(); sampling.Wait() }

	var res *report.Result
	switch r.cfg.Mode {
	case Fixed:
		res = r.fixed(ctx, started, stop)
	case Ramp:
		res = r.ramp(ctx, started, stop)
	case Idle:
		res = r.idle(ctx, started, stop)
	case Connect:
		res = r.churn(ctx, started, stop)
	}
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		res.Aborted = fmt.Sprintf("hard time limit %v reached", r.cfg.Timeout)
	case ctx.Err() != nil:
		res.Aborted = "interrupted"
	}
	return res, nil
}

func (r *run) fixed(ctx context.Context, started time.Time, stop func()) *report.Result {
	r.layout(true)
	connDur := r.connectAll(ctx, 0, r.cfg.Conns)
	w := r.openWindow()
	sendDur := r.sendPhase(ctx, r.cfg.Rate, r.cfg.Duration, uint64(max(r.cfg.Messages, 0)))
	r.drain(ctx)
	r.closeWindow(w)
	stop()
	r.closeAll()
	res := r.result(started, w, sendDur)
	res.Connections.PerSecond = float64(r.established.Load()) / connDur.Seconds()
	return res
}

func (r *run) idle(ctx context.Context, started time.Time, stop func()) *report.Result {
	r.layout(false)
	connDur := r.connectAll(ctx, 0, r.cfg.Conns)
	w := r.openWindow()
	select {
	case <-ctx.Done():
	case <-time.After(r.cfg.Duration):
	}
	r.snapshot()
	r.closeWindow(w)
	stop()
	open := r.open.Load()
	r.closeAll()
	res := r.result(started, w, 0)
	res.Connections.OpenAtEnd = open
	res.Connections.PerSecond = float64(r.established.Load()) / connDur.Seconds()
	if open > 0 {
		res.Tester.RSSPerConnBytes = float64(res.Tester.RSSPeakBytes-res.Tester.RSSStartBytes) / float64(open)
		if res.Server != nil {
			res.Server.RSSPerConnBytes = float64(res.Server.RSSPeakBytes-res.Server.RSSStartBytes) / float64(open)
		}
	}
	return res
}

// churn opens and closes sockets for the duration: each worker dials,
// holds the socket for Hold, closes it with a close frame, and repeats.
func (r *run) churn(ctx context.Context, started time.Time, stop func()) *report.Result {
	r.layout(false)
	w := r.openWindow()
	deadline := time.Now().Add(r.cfg.Duration)
	cctx, cancel := context.WithDeadline(ctx, deadline.Add(r.cfg.Hold+r.cfg.ConnectTimeout))
	defer cancel()
	var tokens <-chan time.Time
	if r.cfg.ConnectRate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / r.cfg.ConnectRate))
		defer t.Stop()
		tokens = t.C
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	for range r.cfg.ConnectConcurrency {
		wg.Go(func() {
			for time.Now().Before(deadline) && cctx.Err() == nil {
				if tokens != nil {
					select {
					case <-cctx.Done():
						return
					case <-tokens:
					}
				}
				i := n.Add(1)
				if r.cfg.Conns > 0 && i > int64(r.cfg.Conns) {
					return
				}
				r.churnOne(cctx, int(i))
			}
		})
	}
	wg.Wait()
	r.closeWindow(w)
	stop()
	res := r.result(started, w, 0)
	res.Connections.PerSecond = float64(r.established.Load()) / w.d.Seconds()
	return res
}

func (r *run) churnOne(ctx context.Context, id int) {
	ws := r.connect(ctx, r.rooms[id%len(r.rooms)], id, r.cfg.URL)
	if ws == nil {
		return
	}
	if r.cfg.Hold > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(r.cfg.Hold):
		}
	}
	ws.SetWriteTimeout(time.Second)
	ws.CloseGracefully()
}

func (r *run) ramp(ctx context.Context, started time.Time, stop func()) *report.Result {
	r.layout(true)
	connDur := r.connectAll(ctx, 0, r.cfg.Conns)
	if r.cfg.Warmup > 0 { // fresh servers and caches: not judged, not in the figures
		r.sendPhase(ctx, r.cfg.Rate, r.cfg.Warmup, 0)
		r.drain(ctx)
	}
	w := r.openWindow()
	var steps []report.Step
	var sendTotal time.Duration
	for i := 0; i < r.cfg.RampSteps && ctx.Err() == nil; i++ {
		rate := r.cfg.Rate
		if r.cfg.RampBy == "rate" {
			rate *= math.Pow(r.cfg.RampFactor, float64(i))
		} else if i > 0 {
			r.connectAll(ctx, i*r.cfg.Conns, r.cfg.Conns)
		}
		live := 0
		for _, s := range r.senders {
			if s.c != nil && !s.dead.Load() {
				live++
			}
		}
		r.snapMu.Lock()
		r.step = hist.New()
		r.snapMu.Unlock()
		exp0, got0 := r.expected(false)
		sent0, errs0, ref0 := r.sent.Load(), r.errs.total(), r.refusedTotal()
		cpu := r.openWindow()
		d := r.sendPhase(ctx, rate, r.cfg.StepDuration, 0)
		sendTotal += d
		r.drain(ctx)
		r.closeWindow(cpu)
		r.snapshot()
		r.snapMu.Lock()
		sh := r.step
		r.step = nil
		r.snapMu.Unlock()
		exp1, got1 := r.expected(false)
		st := report.Step{
			Index:         i,
			Conns:         r.open.Load(),
			RatePerSender: rate,
			OfferedPerS:   rate * float64(live),
			SentPerS:      float64(r.sent.Load()-sent0) / d.Seconds(),
			DeliveredPerS: float64(got1-got0) / d.Seconds(),
			Latency:       hist.Summarize(sh),
			Lost:          max((exp1-exp0)-(got1-got0), 0),
			Refused:       r.refusedTotal() - ref0,
			Errors:        r.errs.total() - errs0,
		}
		if n := got1 - got0; n > 0 {
			st.TesterCPUPerMsgUS = float64(cpu.selfCPU.Microseconds()) / float64(n)
			if cpu.srvOK {
				st.ServerCPUPerMsgUS = float64(cpu.srvCPU.Microseconds()) / float64(n)
			}
		}
		st.OK, st.Why = r.judge(st)
		steps = append(steps, st)
		if !st.OK {
			break
		}
	}
	r.closeWindow(w)
	stop()
	r.closeAll()
	res := r.result(started, w, sendTotal)
	res.Connections.PerSecond = float64(r.established.Load()) / connDur.Seconds()
	res.Steps = steps
	for i := range steps {
		if steps[i].OK {
			res.Knee = &steps[i]
		}
	}
	return res
}

// refusedTotal is the messages the server refused so far (payload.Refused).
func (r *run) refusedTotal() (n int64) {
	for _, s := range r.senders {
		n += s.refused.Load()
	}
	return n
}

// judge tells whether a ramp step met the SLO: p99 within bound, nothing
// lost, no errors, and the senders kept up with the offered rate.
func (r *run) judge(st report.Step) (bool, string) {
	slo := float64(r.cfg.SLOP99) / float64(time.Millisecond)
	switch {
	case st.Latency.Count == 0:
		return false, "nothing delivered"
	case st.Latency.P99 > slo:
		return false, fmt.Sprintf("p99 %.1f ms > %.1f ms", st.Latency.P99, slo)
	case st.Lost > 0:
		return false, fmt.Sprintf("%d lost", st.Lost)
	case st.Refused > 0:
		return false, fmt.Sprintf("%d refused by the server (a rate limit?)", st.Refused)
	case st.Errors > 0:
		return false, fmt.Sprintf("%d errors", st.Errors)
	case st.SentPerS < 0.9*st.OfferedPerS:
		return false, fmt.Sprintf("senders fell behind: %.0f/s of %.0f/s", st.SentPerS, st.OfferedPerS)
	}
	return true, ""
}
