package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/warrenhq/warren/loadtest/internal/report"
)

// outcome is what one ramp measured.
type outcome struct {
	round  int
	target string
	knee   *report.Step // nil: the first step already broke the SLO
	broke  string       // what broke the SLO after the knee, if anything
	lost   int64        // over the whole ramp
	dups   int64
	reord  int64
	others float64 // cores the rest of the machine used during the ramp
	err    string  // the ramp could not run
}

// outcomeOf reads a load tester result.
func outcomeOf(round int, name string, r *report.Result, others float64) outcome {
	o := outcome{round: round, target: name, knee: r.Knee, others: others}
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
	runs   int
}

func verdicts(outs []outcome, order []string) []verdict {
	var vs []verdict
	for _, name := range order {
		var knees, cpus []float64
		for _, o := range outs {
			if o.target == name && o.err == "" {
				knees = append(knees, o.kneePerS())
				cpus = append(cpus, o.cpuPerDelivery())
			}
		}
		vs = append(vs, verdict{target: name, knee: median(knees), cpu: median(cpus), runs: len(knees)})
	}
	return vs
}

// writeSummary prints every ramp and, per target, the median knee and CPU per
// delivery at the knee, and the first server's ratio to each other one.
func writeSummary(w io.Writer, outs []outcome, order []string) {
	fmt.Fprintln(w, "| round | server | knee (deliveries/s) | p99 at knee | server CPU per delivery at knee | tester CPU per delivery | lost / dup / reordered | rest of machine | next step |")
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---|---:|---|")
	for _, o := range outs {
		if o.err != "" {
			fmt.Fprintf(w, "| %d | %s | failed: %s | | | | | | |\n", o.round, o.target, o.err)
			continue
		}
		p99, tester := "-", "-"
		if o.knee != nil {
			p99 = fmt.Sprintf("%.1f ms", o.knee.Latency.P99)
			tester = fmt.Sprintf("%.1f µs", o.knee.TesterCPUPerMsgUS)
		}
		fmt.Fprintf(w, "| %d | %s | %.0f | %s | %.2f µs | %s | %d / %d / %d | %.2f cores | %s |\n",
			o.round, o.target, o.kneePerS(), p99, o.cpuPerDelivery(), tester, o.lost, o.dups, o.reord, o.others,
			strings.ReplaceAll(o.broke, "|", "/"))
	}
	vs := verdicts(outs, order)
	fmt.Fprintln(w)
	for _, v := range vs {
		fmt.Fprintf(w, "%s: knee %.0f deliveries/s, %.2f µs server CPU per delivery (median of %d ramps)\n", v.target, v.knee, v.cpu, v.runs)
	}
	for _, v := range vs[min(1, len(vs)):] {
		if v.knee > 0 && vs[0].cpu > 0 {
			fmt.Fprintf(w, "ratio %s/%s: knee %.2f×, CPU per delivery %.2f× less\n",
				vs[0].target, v.target, vs[0].knee/v.knee, v.cpu/vs[0].cpu)
		}
	}
}
