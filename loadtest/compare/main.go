// Command compare ramps Warren's chat app and, when set up, Cloudflare's
// durable-chat-template on standalone workerd with the same client (the load
// tester's chat scenario: one room, one sender, the rate stepped up ×1.5 until
// p99 passes the SLO or anything is lost), alternating their order every round,
// each ramp on a fresh server, data folder and room. It prints every ramp and
// each server's median knee and server CPU per delivery at the knee, and their
// ratio. Without a workerd setup it ramps Warren alone and says so.
//
//	make compare                            # Warren alone
//	make compare WORKERD_DIR=/tmp/workerd   # side by side (see README.md)
//	make compare ARGS='-baseline /tmp/chat-before'   # two builds of Warren, before/after
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/warrenhq/warren/loadtest/internal/report"
)

func main() { os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr)) }

func realMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	chat := fs.String("chat", "bin/chat", "Warren's chat app binary")
	baseline := fs.String("baseline", "", "another build of the chat app, ramped as \"baseline\" in the same rounds (before/after)")
	loadtest := fs.String("loadtest", "bin/loadtest", "the load tester binary")
	wdDir := fs.String("workerd-dir", os.Getenv("WORKERD_DIR"), "folder prepared by setup-workerd.sh (empty: Warren alone)")
	rounds := fs.Int("rounds", 2, "ramps per server; the order alternates every round")
	work := fs.String("work", "", "scratch folder for data and reports (default: a new temporary one, removed)")
	var s rampSettings
	fs.IntVar(&s.Conns, "conns", 1000, "subscribers in the room")
	fs.Float64Var(&s.Rate, "rate", 5, "first step's messages per second")
	fs.Float64Var(&s.Factor, "ramp-factor", 1.5, "rate multiplier per step")
	fs.IntVar(&s.Steps, "ramp-steps", 12, "steps at most")
	fs.StringVar(&s.StepDuration, "step-duration", "4s", "sending time per step")
	fs.StringVar(&s.SLOP99, "slo-p99", "100ms", "p99 bound that defines the knee")
	fs.StringVar(&s.Warmup, "warmup", "2s", "sending at the first rate before the first step, not judged (fresh server)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	bins := []*string{chat, loadtest}
	if *baseline != "" {
		bins = append(bins, baseline)
	}
	for _, f := range bins {
		abs, err := filepath.Abs(*f)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			fmt.Fprintf(stderr, "compare: %v\n", err)
			return 2
		}
		*f = abs
	}
	dir, cleanup, err := workDir(*work)
	if err != nil {
		fmt.Fprintf(stderr, "compare: %v\n", err)
		return 1
	}
	defer cleanup()
	targets := []target{warrenTarget("warren", *chat)}
	if *baseline != "" {
		targets = append(targets, warrenTarget("baseline", *baseline))
	}
	wd, err := findWorkerd(*wdDir)
	if err != nil {
		fmt.Fprintf(stdout, "workerd: not set up, running Warren alone: %v\n", err)
	} else {
		cfg, err := writeWorkerdConfig(wd, dir)
		if err != nil {
			fmt.Fprintf(stderr, "compare: %v\n", err)
			return 1
		}
		targets = append(targets, workerdTarget(wd.bin, cfg))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var outs []outcome
	for i, r := range schedule(targets, *rounds) {
		if ctx.Err() != nil {
			return 1
		}
		fmt.Fprintf(stderr, "compare: round %d, %s (load average %s)\n", r.round, r.target.name, loadAverage())
		outs = append(outs, rampOnce(ctx, *loadtest, r, s, filepath.Join(dir, fmt.Sprintf("%02d-%s", i+1, r.target.name))))
	}
	var order []string
	for _, t := range targets {
		order = append(order, t.name)
	}
	writeSummary(stdout, outs, order)
	return 0
}

// workDir makes the scratch folder: the one given (created when missing, kept) or a
// new temporary one, removed by cleanup.
func workDir(given string) (dir string, cleanup func(), err error) {
	if given != "" {
		return given, func() {}, os.MkdirAll(given, 0o755)
	}
	d, err := os.MkdirTemp("", "warren-compare-")
	if err != nil {
		return "", nil, err
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// rampOnce runs the load tester once against a fresh server of r's target.
func rampOnce(ctx context.Context, loadtest string, r run, s rampSettings, dir string) outcome {
	fail := func(err error) outcome { return outcome{round: r.round, target: r.target.name, err: err.Error()} }
	if err := os.MkdirAll(filepath.Join(dir, "do"), 0o755); err != nil {
		return fail(err)
	}
	port, err := freePort()
	if err != nil {
		return fail(err)
	}
	jsonPath := filepath.Join(dir, "report.json")
	cmd := exec.CommandContext(ctx, loadtest, loadtestArgs(s, port, r.target.command(port, dir), jsonPath, filepath.Join(dir, "server.log"))...)
	cmd.Env = append(os.Environ(), warrenEnv...)
	cmd.Stdout = io.Discard
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	flushed := flushDisks()
	busy0, disk0, t0 := machineBusy(), diskWritten(), time.Now()
	runErr := cmd.Run()
	busy, wall := machineBusy()-busy0, time.Since(t0)
	written := diskWritten() - disk0
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		return fail(fmt.Errorf("load tester: %v: %s", runErr, stderr.String()))
	}
	var res report.Result
	if err := json.Unmarshal(b, &res); err != nil {
		return fail(err)
	}
	ours := res.Tester.CPUSeconds
	if res.Server != nil {
		ours += res.Server.CPUSeconds
	}
	o := outcomeOf(r.round, r.target.name, &res, othersCores(busy, ours, wall))
	o.flushed, o.diskMB = flushed, float64(written)/1e6
	return o
}

// othersCores is how many cores the rest of the machine kept busy: all busy CPU
// time over the ramp minus the server's and the tester's, per second of wall time.
func othersCores(busy time.Duration, oursSeconds float64, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return max(busy.Seconds()-oursSeconds, 0) / wall.Seconds()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// limitedBuffer keeps the first 4 KiB written to it (the load tester's errors).
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p[:min(len(p), max(4096-len(l.b), 0))]...)
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
