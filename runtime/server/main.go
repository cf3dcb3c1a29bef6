package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/warrenhq/warren/runtime/object"
)

// App describes an app binary for Main.
type App struct {
	// Name names the binary and its default data directory ./data/<Name>.
	Name string
	// Addr is the default listen address, e.g. "127.0.0.1:8787".
	Addr string
	// Assets is the static front end (see Config.Assets).
	Assets fs.FS
	// Setup registers the app's namespaces on rt and mounts them on s.
	Setup func(rt *object.Runtime, s *Server) error
	// Runtime and Server are passed to object.New and New; DataDir, Assets and the
	// logger are filled in from flags when empty.
	Runtime object.Config
	Server  Config
	// Ready, if set, is called with the listening address once the app serves (tests).
	Ready func(addr net.Addr)
	// Cluster, if set, enables the cluster flags (package clustermode's With sets
	// it); without it the binary refuses them.
	Cluster Cluster
}

// Main runs app with the process's arguments until SIGINT or SIGTERM, then shuts down
// gracefully: HTTP requests finish and sockets close (within ShutdownTimeout), then the
// runtime closes (within the turn time limit, object.Config.TurnTimeout, plus a second,
// whatever the objects do). A second SIGINT or SIGTERM exits at once. It exits the
// process with status 1 on error (or that second signal) and 2 on bad flags.
//
// Flags (with environment equivalents): -addr (WARREN_ADDR, default App.Addr),
// -data DIR (WARREN_DATA, default ./data/<App.Name>), -log-level (WARREN_LOG_LEVEL:
// debug, info, warn, error; default info), -allowed-hosts (WARREN_ALLOWED_HOSTS, see
// Config.AllowedHosts), -allowed-origins (WARREN_ALLOWED_ORIGINS, see
// Config.AllowedOrigins), -h. WARREN_METRICS_TOKEN, when set and
// App.Server.MetricsToken is empty, becomes the bearer token /metrics requires (see
// Config.MetricsToken). WARREN_ADMIN_TOKEN or -admin-token-file FILE enables the
// admin API and inspector at /_warren/ (Config.Admin; loopback clients only unless
// -admin-remote, WARREN_ADMIN_REMOTE=1), -backup-dir (WARREN_BACKUP_DIR) holds its
// backups. -pprof ADDR (WARREN_PPROF) serves Go's profiler on a loopback address.
// -history RETENTION (WARREN_HISTORY, e.g. 7d or 36h; off by default) keeps every
// object's committed states for that long in the data directory's .history folder
// (package history), for bookmarks and restores through the admin API.
//
// Cluster mode (App.Cluster set, package clustermode): -cluster-peers host:port,...
// with -cluster-listen host:port (a NATS server embedded in each node, routed to the
// others; it always fsyncs, sync_interval: always) or -nats-url URL (an external NATS
// cluster, which must run JetStream with sync_interval: always and three or more
// servers for R3); -node NAME, -region LABEL, -advertise HOST:PORT (where the other
// nodes reach this one's HTTP; default -addr), -cluster-dir DIR (the embedded
// server's store; default the data directory's path with -nats appended). Each has
// an environment equivalent (WARREN_CLUSTER_PEERS, ...). Without any of them the
// process serves alone, as it always did.
//
// Unless GOMEMLIMIT is set, Main sets the Go runtime's soft memory limit to 3/4 of
// the memory available to the process (its cgroup's memory.max, else the machine's
// RAM); GOMEMLIMIT=off turns it off.
func Main(app App) {
	if os.Getenv("GOMEMLIMIT") == "" {
		if l := defaultMemoryLimit(""); l > 0 {
			debug.SetMemoryLimit(l)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "%s: %v: shutting down (send it again to exit at once)\n", app.Name, s)
		cancel()
		s = <-sigs
		fmt.Fprintf(os.Stderr, "%s: %v again: exiting without waiting\n", app.Name, s)
		os.Exit(1)
	}()
	err := Run(ctx, app, os.Args[1:], os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "%s: %v\n", app.Name, err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// Run is Main without the process: it parses args, serves until ctx ends and shuts
// down. Logs and usage go to stderr.
func Run(ctx context.Context, app App, args []string, stderr io.Writer) error {
	fl := flag.NewFlagSet(app.Name, flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := fl.String("addr", envOr("WARREN_ADDR", app.Addr), "listen `address` (env WARREN_ADDR)")
	data := fl.String("data", envOr("WARREN_DATA", filepath.Join("data", app.Name)), "data `directory`: one SQLite file per object (env WARREN_DATA)")
	level := fl.String("log-level", envOr("WARREN_LOG_LEVEL", "info"), "log `level`: debug, info, warn or error (env WARREN_LOG_LEVEL)")
	hosts := fl.String("allowed-hosts", os.Getenv("WARREN_ALLOWED_HOSTS"), "comma-separated host `names` the server answers to besides IP addresses, localhost and the -addr host;\n\"*\" for any, *.example.com for subdomains (env WARREN_ALLOWED_HOSTS)")
	origins := fl.String("allowed-origins", os.Getenv("WARREN_ALLOWED_ORIGINS"), "comma-separated `origins` (https://app.example.com) whose pages may open WebSockets and\nsend POST/PUT/PATCH/DELETE besides the server's own; \"*\" for any (env WARREN_ALLOWED_ORIGINS)")
	adminTokenFile := fl.String("admin-token-file", "", "`file` holding the admin token that enables the admin API and inspector at /_warren/\n(or env WARREN_ADMIN_TOKEN; at least 16 bytes; off by default)")
	adminRemote := fl.Bool("admin-remote", os.Getenv("WARREN_ADMIN_REMOTE") == "1", "serve the admin API to clients that are not on loopback (env WARREN_ADMIN_REMOTE=1)")
	pprofAddr := fl.String("pprof", os.Getenv("WARREN_PPROF"), "serve Go's profiler (/debug/pprof/) on this loopback `address`, e.g. 127.0.0.1:6060 (env WARREN_PPROF; off by default)")
	backupDir := fl.String("backup-dir", os.Getenv("WARREN_BACKUP_DIR"), "`directory` of the backups the admin API writes and restores (env WARREN_BACKUP_DIR;\ndefault: the data directory's path with -backups appended)")
	historyFlag := fl.String("history", os.Getenv("WARREN_HISTORY"), "keep every object's committed states this `long` for point-in-time recovery (bookmarks),\ne.g. 7d or 36h (env WARREN_HISTORY; off by default; in cluster mode 7d by default, off rolls the log up)")
	clusterFlags := clusterFlagSet(fl)
	fl.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s [flags]\n       %[1]s [cluster flags] cluster import DATA_DIR\n\nServes the %s app: objects at /parties/<namespace>/<name> (HTTP and WebSocket),\n/healthz, /metrics and the web front end.\n\nFlags:\n", app.Name, app.Name)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fl.NArg() > 0 && fl.Arg(0) == "cluster" {
		return clusterCommand(ctx, app, clusterFlags(), fl.Args()[1:], stderr, *level, *data)
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", app.Name, fl.Args())
		fl.Usage()
		return errUsage
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("%w: -log-level: %v", errUsage, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))

	if app.Runtime.DataDir == "" {
		app.Runtime.DataDir = *data
	}
	if app.Server.MetricsToken == "" {
		app.Server.MetricsToken = os.Getenv("WARREN_METRICS_TOKEN")
	}
	if err := adminFlags(&app.Server.Admin, *adminTokenFile, *adminRemote, *backupDir); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	app.Server.AllowedHosts = append(app.Server.AllowedHosts, splitList(*hosts)...)
	if h, _, err := net.SplitHostPort(*addr); err == nil && h != "" {
		app.Server.AllowedHosts = append(app.Server.AllowedHosts, h)
	}
	app.Server.AllowedOrigins = append(app.Server.AllowedOrigins, splitList(*origins)...)
	if app.Runtime.Logger == nil {
		app.Runtime.Logger = log
	}
	if *pprofAddr != "" {
		stop, err := servePprof(*pprofAddr, log)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		defer stop()
	}
	var ln net.Listener
	if cf := clusterFlags(); cf.Enabled() {
		// A cluster node listens first: the others must learn the address it serves at.
		var err error
		if cf.History, err = clusterRetention(*historyFlag); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if ln, err = listen(*addr); err != nil {
			return err
		}
		defer ln.Close()
		leave, err := joinCluster(ctx, &app, cf, ln.Addr(), log)
		if err != nil {
			return err
		}
		defer leave() // after the runtime closed (defers run last first)
	}
	if app.Runtime.History == nil && !clusterFlags().Enabled() {
		hist, err := openHistory(*historyFlag, app.Runtime.DataDir, clusterFlags().Enabled(), log)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if hist != nil {
			defer hist.Close() // after the runtime's Close (defers run last first)
			app.Runtime.History = hist
		}
	}
	h, err := Open(app, app.Runtime.DataDir)
	if err != nil {
		return err
	}
	defer h.Runtime.Close()
	rt, s := h.Runtime, h.Server
	if ln == nil {
		if ln, err = listen(*addr); err != nil {
			return err
		}
	}
	log.Info("serving", "app", app.Name, "url", OpenURL(ln.Addr()), "addr", ln.Addr().String(), "data", rt.Config().DataDir, "memlimit", memLimitString())
	if app.Ready != nil {
		app.Ready(ln.Addr())
	}
	err = s.Serve(ctx, ln)
	log.Info("stopped", "app", app.Name, "err", err)
	return err
}

// listen listens on addr, saying what to do when another program has it.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("%w: another program listens on %s; choose another address with -addr (or WARREN_ADDR), e.g. -addr 127.0.0.1:0 for any free port", err, addr)
	}
	return ln, err
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// memLimitString is the Go runtime's soft memory limit for the log, e.g. "12GiB".
func memLimitString() string {
	l := debug.SetMemoryLimit(-1)
	if l == math.MaxInt64 {
		return "off"
	}
	return strconv.FormatInt(l>>20, 10) + "MiB"
}

// OpenURL is the address to open in a browser for a listener on addr:
// http://127.0.0.1:8787/ for 127.0.0.1:8787, http://localhost:8788/ for a
// listener on every interface ([::]:8788 or 0.0.0.0:8788).
func OpenURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
