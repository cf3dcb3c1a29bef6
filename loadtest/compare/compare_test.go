package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warrenhq/warren/loadtest/internal/hist"
	"github.com/warrenhq/warren/loadtest/internal/report"
)

// The order alternates every round, so neither server always ramps first.
func TestScheduleAlternates(t *testing.T) {
	a, b := target{name: "a"}, target{name: "b"}
	var got []string
	for _, r := range schedule([]target{a, b}, 3) {
		got = append(got, strconv.Itoa(r.round)+r.target.name)
	}
	if want := []string{"1a", "1b", "2b", "2a", "3a", "3b"}; !slices.Equal(got, want) {
		t.Fatalf("schedule = %v, want %v", got, want)
	}
	got = nil
	for _, r := range schedule([]target{a}, 2) {
		got = append(got, r.target.name)
	}
	if !slices.Equal(got, []string{"a", "a"}) {
		t.Fatalf("one target: %v", got)
	}
}

// Both servers get the same ramp; only the port and the started command differ.
func TestLoadtestArgsAreTheSameRamp(t *testing.T) {
	s := rampSettings{Conns: 1000, Rate: 25, Factor: 2, Steps: 8, StepDuration: "4s", SLOP99: "100ms", Warmup: "2s"}
	w := warrenTarget("warren", "/bin/chat").command(9000, "/w")
	if w != "/bin/chat -addr 127.0.0.1:9000 -data /w/data" {
		t.Fatalf("warren command %q", w)
	}
	d := workerdTarget("/wd/workerd", "/w/config.capnp").command(9001, "/w")
	if d != "/wd/workerd serve /w/config.capnp --socket-addr http=127.0.0.1:9001 --directory-path do-storage=/w/do" {
		t.Fatalf("workerd command %q", d)
	}
	a := strings.Join(loadtestArgs(s, 9000, w, "/w/r.json", "/w/log"), " ")
	b := strings.Join(loadtestArgs(s, 9001, d, "/w/r.json", "/w/log"), " ")
	for _, want := range []string{"-mode ramp", "-conns 1000", "-rooms 1", "-senders 1", "-rate 25", "-ramp-factor 2", "-slo-p99 100ms", "-warmup 2s", "-json /w/r.json"} {
		if !strings.Contains(a, want) || !strings.Contains(b, want) {
			t.Errorf("missing %q:\n%s\n%s", want, a, b)
		}
	}
	if strings.ReplaceAll(strings.Replace(a, w, "CMD", 1), "9000", "P") != strings.ReplaceAll(strings.Replace(b, d, "CMD", 1), "9001", "P") {
		t.Errorf("ramps differ:\n%s\n%s", a, b)
	}
}

// The summary takes each server's median knee and CPU per delivery at the knee,
// and the ratio of the first server's to the second's.
func TestSummaryMediansAndRatio(t *testing.T) {
	step := func(perS, cpu float64, ok bool) report.Step {
		return report.Step{OfferedPerS: perS / 1000, DeliveredPerS: perS, ServerCPUPerMsgUS: cpu, OK: ok, Why: map[bool]string{false: "p99 751 ms"}[ok]}
	}
	res := func(steps ...report.Step) *report.Result {
		r := &report.Result{Steps: steps, Messages: &report.Messages{}}
		for i := range steps {
			if steps[i].OK {
				r.Knee = &steps[i]
			}
		}
		return r
	}
	outs := []outcome{
		outcomeOf(1, "warren", res(step(50000, 4, true), step(100000, 3, true), step(200000, 2.5, false)), 0.1),
		outcomeOf(1, "workerd", res(step(20000, 30, true), step(40000, 31, false)), 0.2),
		outcomeOf(2, "workerd", res(step(10000, 28, true), step(20000, 32, false)), 0.1),
		outcomeOf(2, "warren", res(step(50000, 5, true), step(100000, 7, false)), 0.3),
		{round: 3, target: "warren", err: "server did not start"},
		outcomeOf(3, "workerd", res(step(20000, 30, false)), 0.1), // no knee: counts as 0
	}
	vs := verdicts(outs, []string{"warren", "workerd"})
	if vs[0].knee != 75000 || vs[0].cpu != 4 || vs[0].runs != 2 {
		t.Errorf("warren verdict %+v", vs[0])
	}
	if vs[1].knee != 10000 || vs[1].cpu != 28 || vs[1].runs != 3 {
		t.Errorf("workerd verdict %+v", vs[1])
	}
	var buf bytes.Buffer
	writeSummary(&buf, outs, []string{"warren", "workerd"})
	out := buf.String()
	for _, want := range []string{
		"| 1 | warren | 100000 |", "| 200 msg/s: p99 751 ms |", "failed: server did not start",
		"warren: knee 75000 deliveries/s, 4.00 µs", "ratio warren/workerd: knee 7.50×, CPU per delivery 7.00× less",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	buf.Reset()
	writeSummary(&buf, outs, []string{"warren", "workerd", "baseline"}) // one ratio per other server, none for one that never ran
	if n := strings.Count(buf.String(), "ratio"); n != 1 {
		t.Errorf("%d ratios:\n%s", n, buf.String())
	}
	buf.Reset()
	writeSummary(&buf, outs[:1], []string{"warren"})
	if strings.Contains(buf.String(), "ratio") {
		t.Errorf("one server, yet a ratio:\n%s", buf.String())
	}
}

func TestFindWorkerdSaysWhatIsMissing(t *testing.T) {
	if _, err := findWorkerd(""); err == nil || !strings.Contains(err.Error(), "no -workerd-dir") {
		t.Errorf("empty dir: %v", err)
	}
	dir := t.TempDir()
	if _, err := findWorkerd(dir); err == nil || !strings.Contains(err.Error(), "setup-workerd.sh") {
		t.Errorf("empty folder: %v", err)
	}
}

// A -work folder that does not exist yet is made (it was not: the workerd
// configuration could not be written into it), and kept.
func TestWorkDirIsMadeAndKept(t *testing.T) {
	given := filepath.Join(t.TempDir(), "a", "b")
	dir, cleanup, err := workDir(given)
	if err != nil || dir != given {
		t.Fatalf("workDir: %q, %v", dir, err)
	}
	cleanup()
	if _, err := os.Stat(given); err != nil {
		t.Fatalf("-work folder: %v", err)
	}
	tmp, cleanup, err := workDir("")
	if err != nil {
		t.Fatal(err)
	}
	cleanup()
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temporary folder left: %v", err)
	}
}

func TestParseBusy(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	got := parseBusy("cpu  100 2 30 5000 40 5 6 7 50 0")
	if want := time.Duration(100+2+30+5+6+7) * 10 * time.Millisecond; got != want {
		t.Errorf("busy %v, want %v", got, want)
	}
	if parseBusy("intr 1 2 3") != 0 {
		t.Error("not a cpu line")
	}
	if c := othersCores(3*time.Second, 1, 2*time.Second); c != 1 {
		t.Errorf("others %v cores, want 1", c)
	}
	// /proc/diskstats: major minor name, then reads (4 fields), then writes: the
	// 10th field is sectors written. Partitions, loop and RAM devices are left out.
	stats := "   7       0 loop0 10 0 80 1 0 0 0 0 0 1 1\n" +
		" 253       0 vda 500 20 9000 300 400 30 2000 700 0 900 1000\n" +
		" 253       1 vda1 400 20 8000 200 300 30 1500 600 0 800 900\n" +
		"   1       0 ram0 1 0 8 0 1 0 8 0 0 0 0\n"
	whole := func(name string) bool { return name == "vda" || name == "loop0" || name == "ram0" }
	if got := parseDiskWritten(stats, whole); got != 2000*512 {
		t.Errorf("disk written %d bytes, want %d (vda only)", got, 2000*512)
	}
}

// One real ramp, end to end: the load tester (built from this module) ramps its
// own relay server the way the comparison ramps a chat server, and the outcome
// comes from the report it wrote.
func TestRampOnceReadsARealRamp(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "loadtest")
	build := exec.Command("go", "build", "-o", bin, "..")
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	relay := target{name: "relay", command: func(port int, dir string) string {
		return bin + " serve -addr 127.0.0.1:" + strconv.Itoa(port) + " -for 60s"
	}}
	// Enough deliveries per step (~10,000) for the server's CPU, read in clock
	// ticks of 10 ms, to show.
	s := rampSettings{Conns: 50, Rate: 100, Factor: 2, Steps: 2, StepDuration: "700ms", SLOP99: "5s", Warmup: "200ms"}
	o := rampOnce(context.Background(), bin, run{round: 1, target: relay}, s, t.TempDir())
	if o.err != "" {
		t.Fatal(o.err)
	}
	if o.knee == nil || o.knee.RatePerSender != 200 || o.kneePerS() < 1000 {
		t.Fatalf("knee %+v", o.knee)
	}
	if o.knee.ServerCPUPerMsgUS <= 0 || o.lost != 0 {
		t.Fatalf("server CPU per delivery %v, lost %d", o.knee.ServerCPUPerMsgUS, o.lost)
	}
}

// On a machine too loaded for any knee, the servers still compare at their first
// step, which offered each the same load.
func TestSummaryWithoutKneesComparesTheFirstStep(t *testing.T) {
	broken := func(p99, cpu float64) *report.Result {
		return &report.Result{Messages: &report.Messages{}, Steps: []report.Step{{
			OfferedPerS: 5, DeliveredPerS: 5000, ServerCPUPerMsgUS: cpu, Why: "p99",
			Latency: hist.Summary{P50: p99 / 4, P99: p99}}}}
	}
	outs := []outcome{outcomeOf(1, "warren", broken(200, 17), 1.9), outcomeOf(1, "workerd", broken(1800, 56), 1.9)}
	var buf bytes.Buffer
	writeSummary(&buf, outs, []string{"warren", "workerd"})
	for _, want := range []string{"| 5000, 50.0 / 200.0 ms, 17.00 µs |", "ratio warren/workerd at the first step (no knee for workerd): p99 9.00× lower, CPU per delivery 3.29× less"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, buf.String())
		}
	}
}
