// Command loadtest is Warren's WebSocket fan-out load tester.
//
//	go run ./loadtest <scenario> [flags]   run a scenario (see `list`)
//	go run ./loadtest serve [flags]        run the built-in test relay server
//	go run ./loadtest list                 list scenarios
//
// Every run is bounded in time and count and targets loopback addresses
// only, unless -allow-non-loopback. Exit status: 0 passed, 1 run failed,
// 2 bad usage, 3 a threshold was exceeded.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/warrenhq/warren/loadtest/internal/engine"
	"github.com/warrenhq/warren/loadtest/internal/netx"
	"github.com/warrenhq/warren/loadtest/internal/payload"
	"github.com/warrenhq/warren/loadtest/internal/relayserver"
	"github.com/warrenhq/warren/loadtest/internal/report"
	"github.com/warrenhq/warren/loadtest/internal/scenario"
	"github.com/warrenhq/warren/loadtest/internal/startproc"
)

func main() { os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage:
  loadtest <scenario> [flags]   run a load test (scenarios: %s)
  loadtest serve [flags]        run the built-in test relay server
  loadtest list                 list scenarios
  loadtest <scenario> -h        list the flags
`

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(stderr, usage, strings.Join(scenario.Names(), ", "))
		return 2
	}
	switch args[0] {
	case "list":
		for _, n := range scenario.Names() {
			s, _ := scenario.Lookup(n)
			fmt.Fprintf(stdout, "%-10s %s\n", n, s.Summary)
		}
		return 0
	case "serve":
		return serve(args[1:], stderr)
	case workerCmd:
		return worker(args[1:], stdout, stderr)
	}
	sc, err := scenario.Lookup(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return 2
	}
	o, err := parseFlags(sc, args[1:], stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return 2
	}
	return runScenario(o, stdout, stderr)
}

// options are the parsed flags.
type options struct {
	cfg        engine.Config
	limits     report.Limits
	jsonOut    string
	mdOut      string
	htmlOut    string
	progress   string
	start      string
	startAddr  string
	startWait  time.Duration
	startLog   string
	procs      int
	cpuProfile string
	memProfile string
	scenarioNm string
	args       []string // the flags as given, for workers
}

func parseFlags(sc *scenario.Scenario, args []string, stderr io.Writer) (*options, error) {
	o := &options{scenarioNm: sc.Name, args: args}
	c := &o.cfg
	fs := flag.NewFlagSet(sc.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Mode, "mode", engine.Fixed, "fixed, ramp, idle or connect")
	fs.StringVar(&c.URL, "url", sc.URL, "ws:// URL template; {room} and {conn} are replaced")
	fs.StringVar(&c.SenderURL, "sender-url", "", "ws:// URL template of the senders' sockets (default -url): e.g. another node of a cluster")
	pl := fs.String("payload", sc.Payload, "payload codec: relay or chat")
	fs.IntVar(&c.Conns, "conns", 100, "sockets (connect mode: cap on connects, default none)")
	fs.IntVar(&c.Rooms, "rooms", 1, "rooms the sockets are spread over")
	fs.IntVar(&c.Senders, "senders", 1, "senders per room")
	fs.Float64Var(&c.Rate, "rate", 10, "messages per second per sender (ramp: starting rate)")
	fs.IntVar(&c.Size, "size", 128, "frame size in bytes")
	fs.BoolVar(&c.Self, "self", sc.Self, "the server sends each message back to its sender too")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "sending (fixed), holding (idle) or churning (connect) time")
	fs.IntVar(&c.Messages, "messages", 0, "fixed: messages per sender, then stop (0 = until -duration)")
	fs.DurationVar(&c.Drain, "drain", 2*time.Second, "wait this long at most for outstanding deliveries")
	fs.Float64Var(&c.ConnectRate, "connect-rate", 0, "new sockets per second (0 = limited by -connect-concurrency)")
	fs.IntVar(&c.ConnectConcurrency, "connect-concurrency", 64, "dials in flight")
	fs.DurationVar(&c.ConnectTimeout, "connect-timeout", 10*time.Second, "per dial and handshake")
	fs.DurationVar(&c.Hold, "hold", 0, "connect: how long each socket stays open")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", 5*time.Second, "per send")
	fs.IntVar(&c.ReadBuffer, "read-buffer", 4096, "per-socket read buffer in bytes")
	fs.StringVar(&c.Sources, "src", "auto", "source addresses: auto, a list or a range like 127.0.0.2-127.0.0.9")
	fs.BoolVar(&c.AllowNonLoopback, "allow-non-loopback", false, "allow targets outside 127.0.0.0/8 and ::1")
	fs.StringVar(&c.RoomPrefix, "room-prefix", "", `room names are prefix + index (default "lt-<run id>-")`)
	origin := fs.String("origin", "", "Origin header to send")
	fs.StringVar(&c.RampBy, "ramp-by", "rate", "ramp: step up rate (×-ramp-factor) or conns (+-conns)")
	fs.Float64Var(&c.RampFactor, "ramp-factor", 2, "ramp: rate multiplier per step")
	fs.IntVar(&c.RampSteps, "ramp-steps", 8, "ramp: maximum steps")
	fs.DurationVar(&c.StepDuration, "step-duration", 5*time.Second, "ramp: sending time per step")
	fs.DurationVar(&c.Warmup, "warmup", 0, "ramp: send at the first step's rate this long first, not judged")
	fs.DurationVar(&c.SLOP99, "slo-p99", 100*time.Millisecond, "ramp: p99 bound that defines the knee")
	pids := fs.String("pid", "", "server PIDs to sample for CPU and RSS, comma-separated")
	fs.StringVar(&o.start, "start", "", "start the server with this command (no shell), sample it, stop it at the end")
	fs.StringVar(&o.startAddr, "start-addr", "", "address the started server listens on (default: the URL's host:port)")
	fs.DurationVar(&o.startWait, "start-timeout", 30*time.Second, "how long to wait for the started server to listen")
	fs.StringVar(&o.startLog, "start-log", "", "file for the started server's output (default: stderr)")
	fs.DurationVar(&c.Interval, "interval", time.Second, "timeline and progress interval")
	fs.DurationVar(&c.Timeout, "timeout", 0, "hard bound on the whole run (default: derived from the other durations)")
	fs.StringVar(&o.jsonOut, "json", "", "write the result as JSON to this file (- for stdout)")
	fs.StringVar(&o.mdOut, "md", "", "write the result as Markdown to this file")
	fs.StringVar(&o.htmlOut, "html", "", "write a self-contained HTML report to this file")
	fs.StringVar(&o.progress, "progress", "auto", "live progress on stderr: auto (when a terminal), on, off")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the tester's own CPU profile (pprof) over the run to this file")
	fs.StringVar(&o.memProfile, "memprofile", "", "write the tester's allocation profile (pprof) at the end of the run to this file")
	fs.IntVar(&o.procs, "procs", 1, "split the sockets over this many tester processes (for open-file limits); whole rooms per process")
	fs.Float64Var(&o.limits.MaxP99MS, "max-p99", -1, "threshold: fail if one-way p99 exceeds this many ms (-1 = off)")
	fs.Int64Var(&o.limits.MaxLost, "max-lost", -1, "threshold: fail if more messages are lost (-1 = off)")
	fs.Int64Var(&o.limits.MaxErrors, "max-errors", -1, "threshold: fail if more errors occur (-1 = off)")
	fs.Int64Var(&o.limits.MinEstablished, "min-established", -1, "threshold: fail if fewer sockets connect (-1 = off)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.Mode == engine.Connect && !set["conns"] {
		c.Conns = 0 // churn for -duration, uncapped
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.Scenario = sc.Name
	codec, err := payload.Lookup(*pl)
	if err != nil {
		return nil, err
	}
	c.Codec = codec
	if *origin != "" {
		c.Header = http.Header{"Origin": {*origin}}
	}
	for _, p := range strings.Split(*pids, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("-pid: %w", err)
		}
		c.PIDs = append(c.PIDs, n)
	}
	if sc.Configure != nil {
		if err := sc.Configure(c); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func runScenario(o *options, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &o.cfg

	u, err := url.Parse(c.URL)
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: -url: %v\n", err)
		return 2
	}
	if err := netx.CheckHost(u.Hostname(), c.AllowNonLoopback); err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return 2
	}
	if o.start != "" {
		addr := o.startAddr
		if addr == "" {
			addr = u.Host
		}
		out := stderr
		if o.startLog != "" {
			f, err := os.Create(o.startLog)
			if err != nil {
				fmt.Fprintf(stderr, "loadtest: %v\n", err)
				return 1
			}
			defer f.Close()
			out = f
		}
		p, err := startproc.Start(ctx, o.start, addr, o.startWait, out)
		if err != nil {
			fmt.Fprintf(stderr, "loadtest: %v\n", err)
			return 1
		}
		defer p.Stop(10 * time.Second)
		c.PIDs = append(c.PIDs, p.PID())
	}
	switch o.progress {
	case "on":
		c.Progress = func(p report.Point) { fmt.Fprintln(stderr, report.ProgressLine(p)) }
	case "auto":
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 && stderr == os.Stderr {
			c.Progress = func(p report.Point) { fmt.Fprintf(stderr, "\r\033[K%s", report.ProgressLine(p)) }
			defer fmt.Fprintln(stderr)
		}
	}

	stopProfiles, err := startProfiles(o.cpuProfile, o.memProfile)
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return 1
	}
	var res *report.Result
	if sc, _ := scenario.Lookup(o.scenarioNm); sc != nil && sc.Run != nil {
		res, err = sc.Run(ctx, *c)
	} else if o.procs > 1 {
		res, err = runWorkers(ctx, o, stderr)
	} else {
		socks := uint64(c.Conns)
		if c.Mode == engine.Ramp && c.RampBy == "conns" {
			socks *= uint64(c.RampSteps)
		}
		if got, _ := netx.RaiseNoFile(socks + 1024); got < socks+32 && c.Mode != engine.Connect {
			fmt.Fprintf(stderr, "loadtest: warning: open-file limit %d is too low for %d sockets; use -procs N to spread them over processes\n", got, socks)
		}
		res, err = engine.Run(ctx, *c)
	}
	if perr := stopProfiles(); perr != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", perr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return 2
	}
	res.Check(o.limits)
	if err := writeOutputs(o, res, stdout); err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return 1
	}
	switch {
	case res.Aborted != "":
		return 1
	case !res.Passed:
		return 3
	}
	return 0
}

func writeOutputs(o *options, res *report.Result, stdout io.Writer) error {
	if o.jsonOut != "-" {
		if err := report.WriteTable(stdout, res); err != nil {
			return err
		}
	}
	write := func(path string, f func(io.Writer, *report.Result) error) error {
		if path == "" {
			return nil
		}
		if path == "-" {
			return f(stdout, res)
		}
		w, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := f(w, res); err != nil {
			w.Close()
			return err
		}
		return w.Close()
	}
	return errors.Join(write(o.jsonOut, report.WriteJSON), write(o.mdOut, report.WriteMarkdown), write(o.htmlOut, report.WriteHTML))
}

// serve runs the built-in relay server until SIGINT/SIGTERM or -for.
func serve(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8787", "listen address (loopback only)")
	var opt relayserver.Options
	fs.BoolVar(&opt.NoSelf, "no-self", false, "do not send a message back to its sender")
	fs.BoolVar(&opt.Chat, "chat", false, `greet each socket with {"type":"all","messages":[]}`)
	fs.IntVar(&opt.DropEvery, "drop-every", 0, "fault: drop every Nth delivery per socket")
	fs.IntVar(&opt.DupEvery, "dup-every", 0, "fault: duplicate every Nth delivery per socket")
	fs.IntVar(&opt.ReorderEvery, "reorder-every", 0, "fault: swap every Nth delivery with the next")
	fs.IntVar(&opt.GarbageEvery, "garbage-every", 0, "fault: send a non-protocol text frame before every Nth delivery")
	forDur := fs.Duration("for", time.Hour, "stop after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	host, _, err := net.SplitHostPort(*addr)
	if err == nil {
		err = netx.CheckHost(host, false)
	}
	if err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 2
	}
	netx.RaiseNoFile(1 << 20)
	ln, err := listenReusePort(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 1
	}
	srv := &http.Server{Handler: relayserver.New(opt)}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *forDur)
	defer cancel()
	go func() { <-ctx.Done(); srv.Close() }()
	fmt.Fprintf(stderr, "serve: relaying on ws://%s/<room> (pid %d)\n", ln.Addr(), os.Getpid())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 1
	}
	return 0
}

// listenReusePort listens with SO_REUSEPORT, so several serve processes
// can share one port (each holds its own sockets and rooms).
func listenReusePort(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1) })
		return serr
	}}
	return lc.Listen(context.Background(), "tcp", addr)
}
