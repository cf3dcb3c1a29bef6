package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/warrenhq/warren/loadtest/internal/engine"
	"github.com/warrenhq/warren/loadtest/internal/netx"
	"github.com/warrenhq/warren/loadtest/internal/procstat"
	"github.com/warrenhq/warren/loadtest/internal/report"
	"github.com/warrenhq/warren/loadtest/internal/scenario"
)

// workerCmd is the hidden subcommand a parent runs with -procs N:
// __worker <scenario> <index> <count> <room prefix> <flags…>
const workerCmd = "__worker"

// share splits a run over procs processes: worker i gets whole rooms and
// its own 127.0.(i+1).x source addresses.
func share(c *engine.Config, i, procs int, prefix string) error {
	if c.Mode == engine.Ramp {
		return fmt.Errorf("-procs does not support ramp mode")
	}
	part := func(n int) int { return n/procs + btoi(i < n%procs) }
	if c.Mode == engine.Fixed {
		if c.Rooms%procs != 0 || c.Conns%c.Rooms != 0 {
			return fmt.Errorf("-procs %d with fixed mode needs -rooms divisible by -procs and -conns by -rooms", procs)
		}
	}
	c.Rooms = max(part(c.Rooms), 1)
	c.Conns = part(c.Conns)
	c.ConnectRate /= float64(procs)
	c.RoomPrefix = prefix + "w" + strconv.Itoa(i) + "-"
	n := c.Conns/20000 + 1
	if c.Mode == engine.Connect {
		n = 32
	}
	c.Sources = fmt.Sprintf("127.0.%d.1-127.0.%d.%d", i+1, i+1, n)
	c.PIDs, c.Progress, c.ExportRaw = nil, nil, true
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// worker runs one share and writes its JSON result to stdout.
func worker(args []string, stdout, stderr io.Writer) int {
	if len(args) < 4 {
		fmt.Fprintln(stderr, "loadtest: bad worker invocation")
		return 2
	}
	sc, err := scenario.Lookup(args[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	i, _ := strconv.Atoi(args[1])
	procs, _ := strconv.Atoi(args[2])
	o, err := parseFlags(sc, args[4:], stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if err := share(&o.cfg, i, procs, args[3]); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	netx.RaiseNoFile(uint64(o.cfg.Conns) + 1024)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := engine.Run(ctx, o.cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		return 1
	}
	return 0
}

// runWorkers starts o.procs worker processes, samples the server while
// they run, and merges their results.
func runWorkers(ctx context.Context, o *options, stderr io.Writer) (*report.Result, error) {
	if err := share(&engine.Config{Mode: o.cfg.Mode, Rooms: o.cfg.Rooms, Conns: o.cfg.Conns}, 0, o.procs, ""); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	prefix := o.cfg.RoomPrefix
	if prefix == "" {
		prefix = fmt.Sprintf("lt-%08x-", rand.Uint32())
	}
	started := time.Now()
	var srv0 procstat.Sample
	srvOK := len(o.cfg.PIDs) > 0
	if srvOK {
		srv0, err = procstat.Sum(o.cfg.PIDs)
		srvOK = err == nil
	}
	peak := srv0.RSS
	var mu sync.Mutex
	errw := &lockedWriter{w: stderr} // the workers' stderr copiers run concurrently
	parts := make([]*report.Result, o.procs)
	errs := make([]error, o.procs)
	var wg sync.WaitGroup
	for i := range o.procs {
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, self, append([]string{workerCmd, o.scenarioNm, strconv.Itoa(i), strconv.Itoa(o.procs), prefix}, o.args...)...)
		cmd.Stdout, cmd.Stderr = &out, errw
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 15 * time.Second
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		wg.Go(func() {
			err := cmd.Wait()
			var r report.Result
			if jerr := json.Unmarshal(out.Bytes(), &r); jerr != nil {
				errs[i] = fmt.Errorf("worker %d: %v (%v)", i, err, jerr)
				return
			}
			mu.Lock()
			parts[i] = &r
			mu.Unlock()
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(o.cfg.Interval)
	defer tick.Stop()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-tick.C:
			if srvOK {
				if s, err := procstat.Sum(o.cfg.PIDs); err == nil {
					peak = max(peak, s.RSS)
				}
			}
		}
	}
	var ok []*report.Result
	for i, p := range parts {
		if p == nil {
			return nil, errs[i]
		}
		ok = append(ok, p)
	}
	res := report.Merge(ok)
	res.WallS = time.Since(started).Seconds()
	res.Config["procs"] = o.procs
	if srvOK {
		if s, err := procstat.Sum(o.cfg.PIDs); err == nil {
			wall := time.Since(started).Seconds()
			res.Server = &report.Proc{PIDs: o.cfg.PIDs, CPUSeconds: (s.CPU - srv0.CPU).Seconds(),
				CPUPercent: 100 * (s.CPU - srv0.CPU).Seconds() / wall, RSSStartBytes: srv0.RSS, RSSPeakBytes: max(peak, s.RSS), RSSEndBytes: s.RSS}
			if n := res.Connections.OpenAtEnd; n > 0 && res.Mode == engine.Idle {
				res.Server.RSSPerConnBytes = float64(res.Server.RSSPeakBytes-srv0.RSS) / float64(n)
			}
		}
	}
	return res, nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
