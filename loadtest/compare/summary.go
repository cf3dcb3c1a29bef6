package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/warrenhq/warren/loadtest/internal/report"
)

// outcome is what one ramp measured.
type outcome struct {
	round  int
	target string
	knee   *report.Step // nil: the first step already broke the SLO
	first  *report.Step // the first step: the same offered load for every server
	broke  string       // what broke the SLO after the knee, if anything
	lost   int64        // over the whole ramp
	dups   int64
	reord  int64
	others float64 // cores the rest of the machine used during the ramp
	diskMB float64 // MB written to the disks during the ramp, by every process
	// flushed: how long writing the machine's dirty pages took before the ramp
	flushed time.Duration
	err     string // the ramp could not run
}

// outcomeOf reads a load tester result.
func outcomeOf(round int, name string, r *report.Result, others float64) outcome {
	o := outcome{round: round, target: name, knee: r.Knee, others: others}
	if len(r.Steps) > 0 {
		o.first = &r.Steps[0]
	}
	for _, s := range r.Steps {
		if !s.OK {
			o.broke = fmt.Sprintf("%.0f msg/s: %s", s.OfferedPerS, s.Why)
		}
	}
	if m := r.Messages; m != nil {
		o.lost, o.dups, o.reord = m.Lost, m.Duplicates, m.Reordered
	}
	return o
}

func (o outcome) kneePerS() float64 {
	if o.knee == nil {
		return 0
	}
	return o.knee.DeliveredPerS
}

func (o outcome) cpuPerDelivery() float64 {
	if o.knee == nil {
		return 0
	}
	return o.knee.ServerCPUPerMsgUS
}

// median of the values (the mean of the middle two for an even count).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// verdict is one target's figures over its rounds.
type verdict struct {
	target string
	knee   float64 // median knee, deliveries/s
	cpu    float64 // median server CPU per delivery at the knee, µs
	p99    float64 // median p99 of the first step, ms
	cpu1   float64 // median server CPU per delivery in the first step, µs
	runs   int
}

func verdicts(outs []outcome, order []string) []verdict {
	var vs []verdict
	for _, name := range order {
		var knees, cpus, p99s, cpu1s []float64
		for _, o := range outs {
			if o.target == name && o.err == "" {
				knees = append(knees, o.kneePerS())
				cpus = append(cpus, o.cpuPerDelivery())
				if o.first != nil {
					p99s = append(p99s, o.first.Latency.P99)
					cpu1s = append(cpu1s, o.first.ServerCPUPerMsgUS)
				}
			}
		}
		vs = append(vs, verdict{target: name, knee: median(knees), cpu: median(cpus), p99: median(p99s), cpu1: median(cpu1s), runs: len(knees)})
	}
	return vs
}

// writeSummary prints every ramp and, per target, the median knee and CPU per
// delivery at the knee, and the first server's ratio to each other one.
func writeSummary(w io.Writer, outs []outcome, order []string) {
	fmt.Fprintln(w, "| round | server | knee (deliveries/s) | p99 at knee | server CPU per delivery at knee | tester CPU per delivery | first step: delivered/s, p50 / p99, server CPU per delivery | lost / dup / reordered | rest of machine | disk writes (all processes) | next step |")
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---|---|---:|---|---|")
	for _, o := range outs {
		if o.err != "" {
			fmt.Fprintf(w, "| %d | %s | failed: %s | | | | | | | | |\n", o.round, o.target, o.err)
			continue
		}
		p99, tester := "-", "-"
		if o.knee != nil {
			p99 = fmt.Sprintf("%.1f ms", o.knee.Latency.P99)
			tester = fmt.Sprintf("%.1f µs", o.knee.TesterCPUPerMsgUS)
		}
		first := "-"
		if f := o.first; f != nil {
			first = fmt.Sprintf("%.0f, %.1f / %.1f ms, %.2f µs", f.DeliveredPerS, f.Latency.P50, f.Latency.P99, f.ServerCPUPerMsgUS)
		}
		fmt.Fprintf(w, "| %d | %s | %.0f | %s | %.2f µs | %s | %s | %d / %d / %d | %.2f cores | %.0f MB (flush before: %.2f s) | %s |\n",
			o.round, o.target, o.kneePerS(), p99, o.cpuPerDelivery(), tester, first, o.lost, o.dups, o.reord, o.others,
			o.diskMB, o.flushed.Seconds(), strings.ReplaceAll(o.broke, "|", "/"))
	}
	vs := verdicts(outs, order)
	fmt.Fprintln(w)
	for _, v := range vs {
		fmt.Fprintf(w, "%s: knee %.0f deliveries/s, %.2f µs server CPU per delivery; first step p99 %.1f ms, %.2f µs (medians of %d ramps)\n",
			v.target, v.knee, v.cpu, v.p99, v.cpu1, v.runs)
	}
	for _, v := range vs[min(1, len(vs)):] {
		switch {
		case v.knee > 0 && vs[0].cpu > 0:
			fmt.Fprintf(w, "ratio %s/%s: knee %.2f×, CPU per delivery %.2f× less\n",
				vs[0].target, v.target, vs[0].knee/v.knee, v.cpu/vs[0].cpu)
		case v.runs > 0 && vs[0].p99 > 0 && vs[0].cpu1 > 0:
			// No knee to compare (a loaded machine): the first step is the same load for both.
			fmt.Fprintf(w, "ratio %s/%s at the first step (no knee for %s): p99 %.2f× lower, CPU per delivery %.2f× less\n",
				vs[0].target, v.target, v.target, v.p99/vs[0].p99, v.cpu1/vs[0].cpu1)
		}
	}
}
