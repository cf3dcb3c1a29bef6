package engine

import (
	"os"
	"runtime"
	"time"

	"github.com/warrenhq/warren/loadtest/internal/hist"
	"github.com/warrenhq/warren/loadtest/internal/procstat"
	"github.com/warrenhq/warren/loadtest/internal/report"
)

// window measures CPU of the tester and the server over a phase.
type window struct {
	t0       time.Time
	self0    procstat.Sample
	srv0     procstat.Sample
	srvOK    bool
	d        time.Duration
	selfCPU  time.Duration
	srvCPU   time.Duration
	srvEnd   procstat.Sample
	selfEnd  procstat.Sample
	finished bool
}

func (r *run) openWindow() *window {
	w := &window{t0: time.Now(), self0: procstat.Self()}
	if len(r.cfg.PIDs) > 0 {
		if s, err := procstat.Sum(r.cfg.PIDs); err == nil {
			w.srv0, w.srvOK = s, true
		}
	}
	return w
}

func (r *run) closeWindow(w *window) {
	w.d = time.Since(w.t0)
	w.selfEnd = procstat.Self()
	w.selfCPU = w.selfEnd.CPU - w.self0.CPU
	if w.srvOK {
		if s, err := procstat.Sum(r.cfg.PIDs); err == nil {
			w.srvEnd = s
			w.srvCPU = s.CPU - w.srv0.CPU
		} else {
			w.srvOK = false
		}
	}
	w.finished = true
	r.snapMu.Lock()
	r.selfPeak = max(r.selfPeak, w.selfEnd.RSS)
	if w.srvOK {
		r.srvPeak = max(r.srvPeak, w.srvEnd.RSS)
	}
	r.snapMu.Unlock()
}

// result assembles the report after the sockets are closed.
func (r *run) result(started time.Time, w *window, sendDur time.Duration) *report.Result {
	r.snapshot()
	res := &report.Result{
		Schema:   report.Schema,
		Scenario: r.cfg.Scenario,
		Mode:     r.cfg.Mode,
		URL:      r.cfg.URL,
		Started:  started.UTC(),
		WallS:    time.Since(started).Seconds(),
		Config:   configMap(r.cfg),
		Host:     report.Host{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH},
		Connections: report.Connections{
			Attempted:      r.attempted.Load(),
			Established:    r.established.Load(),
			Failed:         r.failed.Load(),
			ClosedByServer: r.serverClose.Load(),
			OpenAtEnd:      r.open.Load(),
			SourceAddrs:    r.pool.Len(),
		},
		ConnectTime: hist.Summarize(r.connCum),
		Latency:     hist.Summarize(r.cum),
		Errors:      r.errs.snapshot(),
		Timeline:    r.timeline,
		Passed:      true,
	}
	if r.bcastCum.TotalCount() > 0 {
		b := hist.Summarize(r.bcastCum)
		res.BroadcastLatency = &b
	}
	if r.cfg.ExportRaw {
		res.Raw = &report.Raw{Latency: r.cum.Export(), ConnectTime: r.connCum.Export()}
		if r.bcastCum.TotalCount() > 0 {
			res.Raw.Broadcast = r.bcastCum.Export()
		}
	}
	if len(r.senders) > 0 {
		res.Messages = r.messages(sendDur)
	}
	res.Tester = report.Proc{PIDs: []int{os.Getpid()}, RSSStartBytes: r.timelineStartRSS(), RSSPeakBytes: r.selfPeak}
	if w != nil && w.finished {
		res.Tester.CPUSeconds = w.selfCPU.Seconds()
		res.Tester.CPUPercent = 100 * w.selfCPU.Seconds() / w.d.Seconds()
		res.Tester.RSSEndBytes = w.selfEnd.RSS
		if res.Messages != nil && res.Messages.Delivered > 0 {
			res.Tester.CPUPerMsgUS = float64(w.selfCPU.Microseconds()) / float64(res.Messages.Delivered)
		}
	}
	if r.srvOK {
		srv := &report.Proc{PIDs: r.cfg.PIDs, RSSStartBytes: r.srvStart.RSS, RSSPeakBytes: r.srvPeak}
		if w != nil && w.srvOK {
			srv.CPUSeconds = w.srvCPU.Seconds()
			srv.CPUPercent = 100 * w.srvCPU.Seconds() / w.d.Seconds()
			srv.RSSEndBytes = w.srvEnd.RSS
			if res.Messages != nil && res.Messages.Delivered > 0 {
				srv.CPUPerMsgUS = float64(w.srvCPU.Microseconds()) / float64(res.Messages.Delivered)
			}
		}
		res.Server = srv
	}
	return res
}

func (r *run) timelineStartRSS() int64 { return r.selfStart }

// messages sums the per-socket accounting; readers must have stopped.
func (r *run) messages(d time.Duration) *report.Messages {
	m := &report.Messages{Sent: r.sent.Load()}
	for _, s := range r.senders {
		m.Refused += s.refused.Load()
	}
	for _, c := range r.conns {
		for i, s := range c.room.senders {
			if i == c.selfSlot && !r.cfg.Self {
				continue
			}
			q := &c.seqs[i]
			sent := s.seq.Load()
			refused := s.refused.Load() // arrived nowhere, due to no one
			m.Expected += max(int64(sent-q.Base())-refused, 0)
			m.Delivered += int64(q.Unique)
			m.Lost += max(int64(q.Lost(sent))-refused, 0)
			m.Duplicates += int64(q.Dups)
			m.Reordered += int64(q.Reordered)
			m.Late += int64(q.Late)
			m.Secondary += int64(q.Secondary)
		}
		m.Unmatched += c.unmatched.Load()
		m.Foreign += c.foreign.Load()
		m.Misrouted += c.misrouted.Load()
		m.SelfEchoes += c.selfEcho.Load()
	}
	if d > 0 {
		m.SendWindowS = d.Seconds()
		m.SentPerS = float64(m.Sent) / d.Seconds()
		m.DeliveredPerS = float64(m.Delivered) / d.Seconds()
	}
	return m
}
