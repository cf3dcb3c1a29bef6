package engine

import (
	"context"
	"time"

	"github.com/warrenhq/warren/loadtest/internal/hist"
	"github.com/warrenhq/warren/loadtest/internal/procstat"
	"github.com/warrenhq/warren/loadtest/internal/report"
)

// sampleLoop appends a timeline point every interval until ctx ends.
func (r *run) sampleLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.snapshot()
		}
	}
}

// startSampling takes the baseline samples.
func (r *run) startSampling() {
	r.lastT = time.Now()
	r.lastSelf = procstat.Self()
	r.selfPeak, r.selfStart = r.lastSelf.RSS, r.lastSelf.RSS
	if len(r.cfg.PIDs) > 0 {
		if s, err := procstat.Sum(r.cfg.PIDs); err == nil {
			r.srvOK, r.lastSrv, r.srvStart, r.srvPeak = true, s, s, s.RSS
		} else {
			r.errs.addKind("server:stat_failed")
		}
	}
}

// snapshot closes the current interval: latencies go into the cumulative
// (and step) histograms and a timeline point is appended.
func (r *run) snapshot() report.Point {
	r.snapMu.Lock()
	defer r.snapMu.Unlock()
	iv, bc := hist.New(), hist.New()
	r.lat.Rotate(iv)
	r.connLat.Rotate(r.connCum)
	r.bcast.Rotate(bc)
	r.bcastCum.Merge(bc)
	r.cum.Merge(iv)
	if r.step != nil {
		r.step.Merge(iv)
	}
	now := time.Now()
	dt := now.Sub(r.lastT).Seconds()
	if dt <= 0 {
		dt = 1e-9
	}
	sent := r.sent.Load()
	_, deliv := r.deliveredTotal()
	self := procstat.Self()
	s := hist.Summarize(iv)
	p := report.Point{
		T:             now.Sub(r.epoch).Seconds(),
		Conns:         r.open.Load(),
		SentPerS:      float64(sent-r.lastSent) / dt,
		DeliveredPerS: float64(deliv-r.lastDeliv) / dt,
		P50:           s.P50,
		P99:           s.P99,
		Max:           s.Max,
		TesterCPU:     100 * (self.CPU - r.lastSelf.CPU).Seconds() / dt,
	}
	if bc.TotalCount() > 0 {
		b := hist.Summarize(bc)
		p.BroadcastP50, p.BroadcastP99 = b.P50, b.P99
	}
	r.selfPeak = max(r.selfPeak, self.RSS)
	if r.srvOK {
		if srv, err := procstat.Sum(r.cfg.PIDs); err == nil {
			p.ServerCPU = 100 * (srv.CPU - r.lastSrv.CPU).Seconds() / dt
			p.ServerRSS = srv.RSS
			r.srvPeak = max(r.srvPeak, srv.RSS)
			r.lastSrv = srv
		}
	}
	r.lastT, r.lastSent, r.lastDeliv, r.lastSelf = now, sent, deliv, self
	r.timeline = append(r.timeline, p)
	if r.cfg.Progress != nil {
		r.cfg.Progress(p)
	}
	return p
}

func (r *run) deliveredTotal() (conns int, n int64) {
	r.connsMu.Lock()
	defer r.connsMu.Unlock()
	for _, c := range r.conns {
		n += c.delivered.Load()
	}
	return len(r.conns), n
}
