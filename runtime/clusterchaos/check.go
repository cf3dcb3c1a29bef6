package clusterchaos

import (
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// SetResult is what [CheckSet] found. Lost, FailedPresent and Unknown must be 0.
type SetResult struct {
	Acked         int // adds acknowledged
	Failed        int // adds answered "no effect"
	Indeterminate int // adds of unknown outcome
	IndetPresent  int // of those, present in the final state
	Lost          int // acknowledged adds missing from the final state
	Unverified    int // acknowledged adds of objects with no final state (unreadable after healing)
	FailedPresent int // adds answered "no effect" that are present anyway
	Unknown       int // elements present that no client ever sent
	Examples      []string
}

// CheckSet is Jepsen's set checker: final holds each object's elements as read after
// healing; every acknowledged add must be in it, every failed add must not, and
// nothing else. Adds of an object missing from final (no node could read it) are
// counted Unverified, not lost.
func CheckSet(ops []Op, final map[string][]string) SetResult {
	var r SetResult
	present := map[string]map[string]bool{}
	for obj, elems := range final {
		m := map[string]bool{}
		for _, e := range elems {
			m[e] = true
		}
		present[obj] = m
	}
	sent := map[string]bool{}
	example := func(format string, a ...any) {
		if len(r.Examples) < 5 {
			r.Examples = append(r.Examples, fmt.Sprintf(format, a...))
		}
	}
	for _, op := range ops {
		if op.Kind != Add {
			continue
		}
		sent[op.Object+"\x00"+op.Elem] = true
		if _, ok := final[op.Object]; !ok {
			if op.Outcome == OK {
				r.Unverified++
			}
			continue
		}
		in := present[op.Object][op.Elem]
		switch op.Outcome {
		case OK:
			r.Acked++
			if !in {
				r.Lost++
				example("acknowledged add %s of %s (via %s, served by %s, %s) lost", op.Elem, op.Object, op.Entry, op.Served, op.Return.Format(time.StampMicro))
			}
		case Failed:
			r.Failed++
			if in {
				r.FailedPresent++
				example("add %s of %s answered %q but present", op.Elem, op.Object, op.Err)
			}
		case Indeterminate:
			r.Indeterminate++
			if in {
				r.IndetPresent++
			}
		}
	}
	for obj, m := range present {
		for e := range m {
			if !sent[obj+"\x00"+e] {
				r.Unknown++
				example("element %s of %s never sent", e, obj)
			}
		}
	}
	return r
}

// Failovers returns, for each fault, the time from the fault's signal to the first
// acknowledged operation invoked after it and served by another node, on each object
// the faulted node served last before it (its owner then): the client-visible
// failover time. An object with no such operation (none acknowledged, or the faulted
// node served it again first) is left out.
func Failovers(ops []Op, faults []Fault) []time.Duration {
	sorted := slices.Clone(ops)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Call.Before(sorted[j].Call) })
	var out []time.Duration
	for _, f := range faults {
		owner := map[string]string{} // object -> node that last served it before f
		last := map[string]time.Time{}
		for _, op := range sorted {
			if op.Outcome == OK && op.Return.Before(f.Start) && op.Return.After(last[op.Object]) {
				owner[op.Object], last[op.Object] = op.Served, op.Return
			}
		}
		done := map[string]bool{}
		for _, op := range sorted {
			if op.Outcome != OK || op.Call.Before(f.Start) || owner[op.Object] != f.Node || done[op.Object] {
				continue
			}
			done[op.Object] = true
			if op.Served == f.Node {
				continue // back on the faulted node: no failover
			}
			out = append(out, op.Return.Sub(f.Start))
		}
	}
	return out
}

// Percentile returns the p-th percentile (0..100) of ds, 0 when ds is empty.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// Report is one run's figures.
type Report struct {
	Objects           int
	Kinds             map[string]int // faults made, by kind
	Ops               int            // operations recorded (adds and reads)
	Set               SetResult
	Lin               LinResult                  // linearizability
	Failover          map[string][]time.Duration // fault kind -> failover times (see Failovers)
	Log               LogResult
	BadRecords        int // log records that did not decode
	Serve             ServeResult
	Databases, BadDBs int
	Unavailable       int // objects no node could read after healing
	Leftover          int // processes of the harness still alive at the end
	SlowStops         int // nodes that did not stop within 9 s of SIGTERM
	HeldOK            int // writes held by a paused node (a zombie) that were acknowledged
	RestartFailures   int // restarts of a killed node that failed (it did not rejoin in time)
	Goroutines        int // goroutines of the harness left at the end
	Elapsed           time.Duration
	Load              string // /proc/loadavg at the end
}

// Table formats r as a Markdown table.
func (r Report) Table() string {
	var b strings.Builder
	b.WriteString("| objects | kills | pauses | leader kills | partitions | ops | acknowledged adds | failed | indeterminate (present) | lost | unverified | failed present | unknown | linearizability violations | undecided | log records (epochs) | epoch regressions | batches served | two serving | lease-read window (in a fault) | failover after kill p50 / p99 (n) | pause | leader kill | partition | unavailable after healing | restarts failed | databases ok | left behind (processes+goroutines) | slow stops | time | load |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	fo := func(kind string) string {
		ds := r.Failover[kind]
		return fmt.Sprintf("%v / %v (%d)", Percentile(ds, 50).Round(10*time.Millisecond), Percentile(ds, 99).Round(10*time.Millisecond), len(ds))
	}
	fmt.Fprintf(&b, "| %d | %d | %d | %d | %d | %d | %d | %d | %d (%d) | %d | %d | %d | %d | %d | %d | %d (%d) | %d | %d | %d | %d (%d) | %s | %s | %s | %s | %d | %d | %d/%d | %d+%d | %d | %v | %s |\n",
		r.Objects, r.Kinds["kill"], r.Kinds["pause"], r.Kinds["leader"], r.Kinds["partition"], r.Ops, r.Set.Acked, r.Set.Failed, r.Set.Indeterminate, r.Set.IndetPresent,
		r.Set.Lost, r.Set.Unverified, r.Set.FailedPresent, r.Set.Unknown, len(r.Lin.Violations), len(r.Lin.Unknown),
		r.Log.Records, r.Log.Epochs, r.Log.Regressions, r.Serve.Batches, r.Serve.Violations, r.Serve.Window, r.Serve.ZombieWindow,
		fo("kill"), fo("pause"), fo("leader"), fo("partition"), r.Unavailable, r.RestartFailures, r.Databases-r.BadDBs, r.Databases, r.Leftover, r.Goroutines, r.SlowStops, r.Elapsed.Round(time.Second), r.Load)
	return b.String()
}

// LoadAverage returns the 1, 5 and 15 minute load averages of /proc/loadavg, or "?".
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}
