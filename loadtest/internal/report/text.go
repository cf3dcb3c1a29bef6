package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/warrenhq/warren/loadtest/internal/hist"
)

// WriteTable writes the human summary of r.
func WriteTable(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	for _, kv := range rows(r) {
		row(kv[0], kv[1])
	}
	if len(r.Steps) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "step\tconns\trate/sender\toffered/s\tsent/s\tdelivered/s\tp50 ms\tp99 ms\tmax ms\tlost\terrors\tserver µs/msg\ttester µs/msg\tSLO")
		for _, s := range r.Steps {
			ok := "ok"
			if !s.OK {
				ok = "BROKEN: " + s.Why
			}
			fmt.Fprintf(tw, "%d\t%d\t%.4g\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%.2f\t%.2f\t%s\n", s.Index, s.Conns, s.RatePerSender,
				s.OfferedPerS, s.SentPerS, s.DeliveredPerS, s.Latency.P50, s.Latency.P99, s.Latency.Max, s.Lost, s.Errors,
				s.ServerCPUPerMsgUS, s.TesterCPUPerMsgUS, ok)
		}
	}
	return tw.Flush()
}

// rows is the summary as label/value pairs, shared by the table and
// Markdown renderings.
func rows(r *Result) [][2]string {
	var out [][2]string
	add := func(k, format string, a ...any) { out = append(out, [2]string{k, fmt.Sprintf(format, a...)}) }
	add("run", "%s, %s mode, %s", r.Scenario, r.Mode, r.URL)
	add("wall", "%.1f s on %d CPUs, %s, %s", r.WallS, r.Host.CPUs, r.Host.GoVersion, r.Started.Format("2006-01-02 15:04:05Z"))
	if r.Aborted != "" {
		add("ABORTED", "%s", r.Aborted)
	}
	c := r.Connections
	add("connections", "%d attempted, %d established, %d failed, %d closed by server, %d open at end",
		c.Attempted, c.Established, c.Failed, c.ClosedByServer, c.OpenAtEnd)
	add("connect rate", "%.0f/s over %d source address(es)", c.PerSecond, max(c.SourceAddrs, 1))
	add("connect time", "%s", pct(r.ConnectTime))
	if m := r.Messages; m != nil {
		add("sent", "%d (%.1f/s over %.1f s)", m.Sent, m.SentPerS, m.SendWindowS)
		add("delivered", "%d of %d due (%.1f/s)", m.Delivered, m.Expected, m.DeliveredPerS)
		add("loss/dup/reorder", "%d lost, %d duplicates, %d reordered, %d late", m.Lost, m.Duplicates, m.Reordered, m.Late)
		if m.Refused > 0 {
			add("refused", "%d messages refused by the server, which told their senders why (a rate limit?); due to no one", m.Refused)
		}
		if m.Unmatched+m.Foreign+m.Misrouted+m.SelfEchoes+m.Secondary > 0 {
			add("other frames", "%d without data, %d foreign, %d misrouted, %d self echoes, %d secondary",
				m.Unmatched, m.Foreign, m.Misrouted, m.SelfEchoes, m.Secondary)
		}
		add("latency", "%s", pct(r.Latency))
	}
	if b := r.BroadcastLatency; b != nil {
		add("broadcast latency", "%s", pct(*b))
	}
	if r.Knee != nil {
		add("knee", "%.0f deliveries/s at %d conns, %.4g msg/s per sender (p99 %.2f ms)",
			r.Knee.DeliveredPerS, r.Knee.Conns, r.Knee.RatePerSender, r.Knee.Latency.P99)
	} else if len(r.Steps) > 0 {
		add("knee", "none: the first step already broke the SLO")
	}
	if s := r.Server; s != nil {
		add("server", "%s", proc(s))
	} else {
		add("server", "not sampled (give -pid or -start)")
	}
	add("tester", "%s", proc(&r.Tester))
	if len(r.Errors) == 0 {
		add("errors", "none")
	} else {
		ks := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		var b strings.Builder
		for i, k := range ks {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", k, r.Errors[k])
		}
		add("errors", "%s", b.String())
	}
	for _, t := range r.Thresholds {
		ok := "ok"
		if !t.OK {
			ok = "FAILED"
		}
		add("threshold", "%s: %g (limit %g) %s", t.Name, t.Value, t.Limit, ok)
	}
	return out
}

func pct(s hist.Summary) string {
	if s.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (n=%d)",
		ms(s.P50), ms(s.P90), ms(s.P99), ms(s.P999), ms(s.Max), s.Count)
}

func ms(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.3f ms", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

func proc(p *Proc) string {
	s := fmt.Sprintf("cpu %.2f s (%.0f%% of a core), rss %s → peak %s",
		p.CPUSeconds, p.CPUPercent, byteSize(p.RSSStartBytes), byteSize(p.RSSPeakBytes))
	if p.RSSPerConnBytes > 0 {
		s += fmt.Sprintf(", %s per socket", byteSize(int64(p.RSSPerConnBytes)))
	}
	if p.CPUPerMsgUS > 0 {
		s += fmt.Sprintf(", %.2f µs CPU per delivered message", p.CPUPerMsgUS)
	}
	return s
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// WriteMarkdown writes r as a Markdown section that can be pasted into an
// issue or a README.
func WriteMarkdown(w io.Writer, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### Load test: %s (%s)\n\n| | |\n|---|---|\n", r.Scenario, r.Mode)
	for _, kv := range rows(r) {
		fmt.Fprintf(&b, "| %s | %s |\n", kv[0], strings.ReplaceAll(kv[1], "|", `\|`))
	}
	if len(r.Steps) > 0 {
		b.WriteString("\n| step | conns | rate/sender | offered/s | delivered/s | p50 ms | p99 ms | lost | SLO |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, s := range r.Steps {
			ok := "ok"
			if !s.OK {
				ok = "broken: " + s.Why
			}
			fmt.Fprintf(&b, "| %d | %d | %.4g | %.0f | %.0f | %.2f | %.2f | %d | %s |\n",
				s.Index, s.Conns, s.RatePerSender, s.OfferedPerS, s.DeliveredPerS, s.Latency.P50, s.Latency.P99, s.Lost, ok)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ProgressLine formats one timeline point for the live progress display.
func ProgressLine(p Point) string {
	s := fmt.Sprintf("t=%5.1fs conns=%d sent=%.0f/s delivered=%.0f/s p50=%.2fms p99=%.2fms tester=%.0f%%",
		p.T, p.Conns, p.SentPerS, p.DeliveredPerS, p.P50, p.P99, p.TesterCPU)
	if p.BroadcastP99 > 0 {
		s += fmt.Sprintf(" bcast p50=%.2fms p99=%.2fms", p.BroadcastP50, p.BroadcastP99)
	}
	if p.ServerRSS > 0 {
		s += fmt.Sprintf(" server=%.0f%% %s", p.ServerCPU, byteSize(p.ServerRSS))
	}
	return s
}
