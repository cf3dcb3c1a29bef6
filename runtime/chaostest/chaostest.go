// Package chaostest checks an app binary's durability the way Jepsen checks a database:
// it runs a load of acknowledged operations against the app, kills the process with
// SIGKILL at random moments, restarts it on the same data directory, and at the end
// verifies that every operation the app acknowledged is present exactly once and that
// every object database passes PRAGMA integrity_check.
//
// An app supplies the protocol knowledge in a [Workload]: how one worker produces
// operations and learns that they were acknowledged, and how to count them in the
// restarted app. The harness supplies the faults and the bookkeeping:
//
//	//go:build chaos
//
//	func TestChaos(t *testing.T) {
//		bin := objecttest.BuildBinary(t, ".")
//		chaostest.Run(t, chaostest.Config{Name: "chat", Binary: bin}, chatWorkload{})
//	}
//
// Run with `make chaos` (CHAOS_KILLS kills per app, default 20). The number of kills
// defaults to the WARREN_CHAOS_KILLS environment variable, else 3. Each result is
// logged and, when WARREN_CHAOS_REPORT names a file, appended to it as one row of a
// Markdown table (see [Header]).
//
// Only 127.0.0.1 is used; every loop is bounded in count and time.
package chaostest

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // read-only integrity checks

	"github.com/warrenhq/warren/runtime/objecttest"
)

// Config configures one chaos run. Zero values get the defaults documented per field.
type Config struct {
	// Name names the app in the report (e.g. "chat").
	Name string
	// Binary is the app binary (see objecttest.BuildBinary); it is started with Args
	// followed by -addr and -data, and inherits the test's environment (use t.Setenv
	// to relax an app's rate limits).
	Binary string
	Args   []string
	// Kills is how many times the process is killed with SIGKILL. Default: the
	// WARREN_CHAOS_KILLS environment variable, else 3.
	Kills int
	// Workers is how many Load goroutines run at once. Default 4.
	Workers int
	// MinUp and MaxUp bound the random time under load before each kill. Default
	// 150ms and 900ms.
	MinUp, MaxUp time.Duration
	// Seed seeds the kill times. Default: the clock (it is logged, to replay a run).
	Seed uint64
	// Timeout bounds the whole run. Default 5 minutes plus 10 seconds per kill.
	Timeout time.Duration
}

// Workload is an app's side of a chaos run.
type Workload interface {
	// Load runs one worker against the app at w.URL until ctx ends or the app goes
	// away (connection errors are expected: the process is being killed). It reports
	// each operation it sent with w.Sent and each one the app acknowledged with w.Ack.
	// Operation ids must be unique over the whole run: include w.Run and w.ID. Load
	// must return soon after ctx ends.
	Load(ctx context.Context, w *Worker) error
	// Check runs against the app after the last restart, with every acknowledged and
	// every sent-but-unacknowledged (indeterminate) operation; it reports how many
	// acknowledged ones are missing and how many of any are present more than once.
	Check(ctx context.Context, c *CheckInput) (Result, error)
}

// Worker is one Load goroutine in one run of the process.
type Worker struct {
	URL  string // "http://127.0.0.1:<port>"
	Run  int    // which process run, from 0
	ID   int    // which worker in the run, from 0
	Rand *rand.Rand

	rec *recorder
}

// Sent records that op was sent (its outcome unknown until Ack).
func (w *Worker) Sent(op string) { w.rec.sent(op) }

// Ack records that the app acknowledged op.
func (w *Worker) Ack(op string) { w.rec.ack(op) }

// CheckInput is what Check verifies.
type CheckInput struct {
	URL     string
	DataDir string
	Acked   []string // acknowledged operations, in acknowledgement order
	Pending []string // sent but never acknowledged: each may or may not be present
}

// Result is what Check found.
type Result struct {
	Lost       int      // acknowledged operations missing
	Duplicated int      // operations present more than once
	Examples   []string // a few offending operations, for the log
}

// Report is one app's figures.
type Report struct {
	App           string
	Runs, Kills   int
	Acked         int
	Indeterminate int
	Lost          int
	Duplicated    int
	Databases     int // object databases that passed PRAGMA integrity_check
	Elapsed       time.Duration
}

// Header is the Markdown table header matching [Report.Row].
const Header = "| app | runs | kills | acknowledged | indeterminate | lost | duplicated | databases ok | time |\n" +
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"

// Row formats r as one Markdown table row.
func (r Report) Row() string {
	return fmt.Sprintf("| %s | %d | %d | %d | %d | %d | %d | %d | %s |\n", r.App, r.Runs, r.Kills,
		r.Acked, r.Indeterminate, r.Lost, r.Duplicated, r.Databases, r.Elapsed.Round(time.Second))
}

type recorder struct {
	mu      sync.Mutex
	order   []string
	acked   map[string]bool
	pending map[string]bool
}

func (r *recorder) sent(op string) {
	r.mu.Lock()
	if !r.acked[op] {
		r.pending[op] = true
	}
	r.mu.Unlock()
}

func (r *recorder) ack(op string) {
	r.mu.Lock()
	if !r.acked[op] {
		r.acked[op] = true
		r.order = append(r.order, op)
	}
	delete(r.pending, op)
	r.mu.Unlock()
}

// KillsFromEnv returns WARREN_CHAOS_KILLS, or def when unset or invalid.
func KillsFromEnv(def int) int {
	if n, err := strconv.Atoi(os.Getenv("WARREN_CHAOS_KILLS")); err == nil && n > 0 {
		return n
	}
	return def
}

// Run performs cfg.Kills kill-and-restart cycles under wl's load, then checks the
// result; it fails t on any lost or duplicated acknowledged operation, on a database
// that fails its integrity check, and when no operation was acknowledged at all.
func Run(t *testing.T, cfg Config, wl Workload) Report {
	t.Helper()
	if cfg.Kills <= 0 {
		cfg.Kills = KillsFromEnv(3)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.MinUp <= 0 {
		cfg.MinUp = 150 * time.Millisecond
	}
	if cfg.MaxUp < cfg.MinUp {
		cfg.MaxUp = cfg.MinUp + 750*time.Millisecond
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5*time.Minute + time.Duration(cfg.Kills)*10*time.Second
	}
	if cfg.Name == "" {
		cfg.Name = filepath.Base(cfg.Binary)
	}
	t.Logf("chaostest %s: %d kills, %d workers, seed %d", cfg.Name, cfg.Kills, cfg.Workers, cfg.Seed)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	deadline := time.Now().Add(cfg.Timeout)
	start := time.Now()
	rec := &recorder{acked: map[string]bool{}, pending: map[string]bool{}}

	srv := objecttest.ServeBinary(t, cfg.Binary, cfg.Args...)
	runLoad := func(run int, up time.Duration, stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for i := range cfg.Workers {
			w := &Worker{URL: srv.URL, Run: run, ID: i, rec: rec,
				Rand: rand.New(rand.NewPCG(cfg.Seed+uint64(run)*1000+uint64(i), 7))}
			wg.Add(1)
			go func() {
				defer wg.Done()
				wl.Load(ctx, w)
			}()
		}
		time.Sleep(up)
		stop()
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Fatalf("chaostest %s: run %d: workers did not return 15s after the kill", cfg.Name, run)
		}
	}
	for run := range cfg.Kills {
		if time.Now().After(deadline) {
			t.Fatalf("chaostest %s: timeout %v reached after %d kills", cfg.Name, cfg.Timeout, run)
		}
		up := cfg.MinUp + time.Duration(rng.Int64N(int64(cfg.MaxUp-cfg.MinUp)+1))
		runLoad(run, up, srv.Kill)
		srv.Start()
	}
	// A last run that is not killed, so the final state also covers a clean stop.
	runLoad(cfg.Kills, cfg.MinUp, func() {})

	rec.mu.Lock()
	in := &CheckInput{URL: srv.URL, DataDir: srv.DataDir, Acked: append([]string(nil), rec.order...)}
	for op := range rec.pending {
		in.Pending = append(in.Pending, op)
	}
	rec.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	res, err := wl.Check(ctx, in)
	cancel()
	if err != nil {
		t.Fatalf("chaostest %s: check: %v", cfg.Name, err)
	}
	srv.Stop()
	dbs, bad := IntegrityCheck(srv.DataDir)
	for _, b := range bad {
		t.Errorf("chaostest %s: %s", cfg.Name, b)
	}
	rep := Report{App: cfg.Name, Runs: cfg.Kills + 1, Kills: cfg.Kills, Acked: len(in.Acked),
		Indeterminate: len(in.Pending), Lost: res.Lost, Duplicated: res.Duplicated,
		Databases: dbs - len(bad), Elapsed: time.Since(start)}
	t.Logf("chaostest result:\n%s%s", Header, rep.Row())
	if f := os.Getenv("WARREN_CHAOS_REPORT"); f != "" {
		if fh, err := os.OpenFile(f, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
			fh.WriteString(rep.Row())
			fh.Close()
		}
	}
	if res.Lost > 0 || res.Duplicated > 0 {
		t.Errorf("chaostest %s: %d acknowledged operations lost, %d duplicated (e.g. %q)", cfg.Name,
			res.Lost, res.Duplicated, res.Examples)
	}
	if rep.Acked == 0 {
		t.Errorf("chaostest %s: no operation was acknowledged: the workload did not run", cfg.Name)
	}
	if dbs == 0 {
		t.Errorf("chaostest %s: no object database under the data directory", cfg.Name)
	}
	return rep
}

// IntegrityCheck opens every object database (*.sqlite) under dir read-only and runs
// PRAGMA integrity_check on it. It returns how many it checked and a description of
// each one that failed. Call it after the app stopped.
func IntegrityCheck(dir string) (checked int, bad []string) {
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".sqlite") {
			return nil
		}
		checked++
		if res, err := integrity(path); err != nil || res != "ok" {
			rel, _ := filepath.Rel(dir, path)
			bad = append(bad, fmt.Sprintf("integrity_check of %s: %q, %v", rel, res, err))
		}
		return nil
	})
	return checked, bad
}

func integrity(path string) (string, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return "", err
	}
	defer db.Close()
	var res string
	err = db.QueryRow("PRAGMA integrity_check").Scan(&res)
	return res, err
}
