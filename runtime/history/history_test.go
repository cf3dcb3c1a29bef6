package history_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/history"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Ledger is the object the tests write: turn n puts key k<n> (a value that grows
// with n, so that pages split and move) and every 7th turn deletes an earlier key.
type Ledger struct{ st *object.State }

func newLedger(ctx context.Context, st *object.State) (*Ledger, error) { return &Ledger{st: st}, nil }

func (l *Ledger) Turn(ctx context.Context, n int) (int, error) {
	s := l.st.Storage()
	for k, v := range turnWrites(n) {
		if v == "" {
			if _, err := s.Delete(k); err != nil {
				return 0, err
			}
			continue
		}
		if err := s.Put(k, []byte(v)); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func (l *Ledger) Count(ctx context.Context) (int, error) {
	e, err := l.st.Storage().List(object.ListOptions{})
	return len(e), err
}

var (
	turnM  = object.NewMethod("turn", (*Ledger).Turn)
	countM = object.NewMethodNoArg("count", (*Ledger).Count)
)

// turnWrites is what turn n writes: "" deletes the key.
func turnWrites(n int) map[string]string {
	w := map[string]string{fmt.Sprintf("k%05d", n): fmt.Sprintf("%0*d", 50+n%400, n)}
	if n%7 == 0 {
		w[fmt.Sprintf("k%05d", n/2)] = ""
	}
	return w
}

// stateAfter is the object's key-value state after turns 1..n.
func stateAfter(n int) map[string]string {
	s := map[string]string{}
	for i := 1; i <= n; i++ {
		for k, v := range turnWrites(i) {
			if v == "" {
				delete(s, k)
			} else {
				s[k] = v
			}
		}
	}
	return s
}

type env struct {
	rt   *objecttest.Runtime
	hist *history.History
	ns   *object.Namespace[Ledger]
}

func start(t *testing.T, dir string, clock *objecttest.Clock, cfg history.Config) env {
	t.Helper()
	cfg.Dir = filepath.Join(dir, ".history")
	cfg.Now = clock.Now
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = -1 // a test of retention sets its own
	}
	h, err := history.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rt := objecttest.New(t, object.Config{DataDir: dir, Clock: clock, History: h, IdleTimeout: -1})
	t.Cleanup(h.Close) // after the runtime's Close (cleanups run last first)
	ns, err := object.Register(rt.Runtime, "ledger", newLedger, object.Methods(turnM, countM))
	if err != nil {
		t.Fatal(err)
	}
	return env{rt: rt, hist: h, ns: ns}
}

func integrity(t *testing.T, rt *objecttest.Runtime, id object.ID, ns string) {
	t.Helper()
	var res string
	if err := rt.OpenDB(t, ns, id).QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check: %q %v", res, err)
	}
}

func kv(t *testing.T, rt *objecttest.Runtime, id object.ID) map[string]string {
	t.Helper()
	got := rt.KV(t, "ledger", id)
	delete(got, "") // none expected; the ledger writes only k keys
	return got
}

// TestRestoreToRandomMoments writes 1,000 numbered turns at known times (evicting
// the object now and then, and with a small checkpoint threshold, so that the
// history spans many archives, segments and bases), restores the object to 20
// random moments and checks each restored state is exactly the state at that
// moment, integrity_check after each; then undoes the last restore.
func TestRestoreToRandomMoments(t *testing.T) {
	dir := t.TempDir()
	clock := objecttest.NewClock()
	e := start(t, dir, clock, history.Config{CheckpointBytes: 64 << 10, SegmentBytes: 256 << 10, BaseInterval: time.Hour})
	ctx := context.Background()
	stub := e.ns.GetByName("book")
	id := stub.ID()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 1))
	const turns = 1000
	times := make([]time.Time, turns+1)
	clock.Advance(time.Second)
	for n := 1; n <= turns; n++ {
		clock.Advance(time.Duration(1+rnd.IntN(20000)) * time.Millisecond)
		if _, err := turnM.Call(ctx, stub, n); err != nil {
			t.Fatal(err)
		}
		times[n] = clock.Now()
		if n%150 == 0 {
			e.rt.EvictAll()
		}
	}
	if _, err := e.rt.BookmarkForTime(ctx, "ledger", id, times[1].Add(-time.Hour)); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("a moment before the history: %v, want ErrNotFound", err)
	}
	clock.Advance(time.Minute)
	var undo string
	var before map[string]string
	for i := range 20 {
		from, to := times[1].Add(-time.Second), times[turns].Add(time.Second)
		at := from.Add(time.Duration(rnd.Int64N(int64(to.Sub(from)))))
		if i%5 == 4 {
			at = times[1+rnd.IntN(turns)] // exactly a commit's time
		}
		want := sort.Search(turns+1, func(n int) bool { return n > 0 && times[n].After(at) }) - 1
		bm, err := e.rt.BookmarkForTime(ctx, "ledger", id, at)
		if err != nil {
			t.Fatalf("moment %d (%v, after turn %d): %v", i, at, want, err)
		}
		before = kv(t, e.rt, id)
		if undo, err = e.rt.RestoreBookmark(ctx, "ledger", id, bm); err != nil {
			t.Fatalf("moment %d: restore: %v", i, err)
		}
		integrity(t, e.rt, id, "ledger")
		if got, exp := kv(t, e.rt, id), stateAfter(want); !maps.Equal(got, exp) {
			t.Fatalf("moment %d (after turn %d): restored %d keys, want %d", i, want, len(got), len(exp))
		}
		n, err := countM.Call(ctx, stub)
		if err != nil || n != len(stateAfter(want)) {
			t.Fatalf("moment %d: the object counts %d keys (%v), want %d", i, n, err, len(stateAfter(want)))
		}
		clock.Advance(time.Second)
	}
	if _, err := e.rt.RestoreBookmark(ctx, "ledger", id, undo); err != nil {
		t.Fatal(err)
	}
	integrity(t, e.rt, id, "ledger")
	if got := kv(t, e.rt, id); !maps.Equal(got, before) {
		t.Fatalf("undo: %d keys, want the %d before the last restore", len(got), len(before))
	}
	if err := e.hist.Verify("ledger", id); err != nil {
		t.Fatal(err)
	}
	used, err := e.rt.HistoryUsage("ledger", id)
	if err != nil || used <= 0 {
		t.Fatalf("usage %d, %v", used, err)
	}
}

// TestBadInputChangesNothing: a malformed bookmark, another object's, and a history
// file damaged or cut short each fail the restore with a clear error, and the
// object keeps its state.
func TestBadInputChangesNothing(t *testing.T) {
	dir := t.TempDir()
	clock := objecttest.NewClock()
	e := start(t, dir, clock, history.Config{CheckpointBytes: 16 << 10})
	ctx := context.Background()
	a, b := e.ns.GetByName("a"), e.ns.GetByName("b")
	var mid time.Time
	for n := 1; n <= 200; n++ {
		clock.Advance(time.Second)
		if _, err := turnM.Call(ctx, a, n); err != nil {
			t.Fatal(err)
		}
		if n == 100 {
			mid = clock.Now()
		}
	}
	if _, err := turnM.Call(ctx, b, 1); err != nil {
		t.Fatal(err)
	}
	e.rt.EvictAll()
	want := kv(t, e.rt, a.ID())
	good, err := e.rt.BookmarkForTime(ctx, "ledger", a.ID(), mid)
	if err != nil {
		t.Fatal(err)
	}
	ofB, err := e.rt.CurrentBookmark(ctx, "ledger", b.ID())
	if err != nil {
		t.Fatal(err)
	}
	for _, bm := range []string{"", "zz", good[:39], good + "0", strings.ToUpper(good), ofB, good[:20] + strings.Repeat("0", 20)} {
		if _, err := e.rt.RestoreBookmark(ctx, "ledger", a.ID(), bm); !errors.Is(err, object.ErrInvalidArgument) {
			t.Fatalf("bookmark %q: %v, want ErrInvalidArgument", bm, err)
		}
	}
	histDir := filepath.Join(dir, ".history", "ledger", a.ID().String()[:2], a.ID().String())
	segs, _ := filepath.Glob(filepath.Join(histDir, "seg-*.log"))
	if len(segs) == 0 {
		t.Fatal("no segment")
	}
	damage := func(path string, f func([]byte) []byte) {
		t.Helper()
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, f(bytes.Clone(orig)), 0o644); err != nil {
			t.Fatal(err)
		}
		e.rt.Close() // reload the history from disk
		e.hist.Close()
		e = start(t, dir, clock, history.Config{CheckpointBytes: 16 << 10})
		_, err = e.rt.RestoreBookmark(ctx, "ledger", a.ID(), good)
		if !errors.Is(err, object.ErrCorrupt) {
			t.Fatalf("%s damaged: %v, want ErrCorrupt", filepath.Base(path), err)
		}
		t.Logf("%s damaged: %v", filepath.Base(path), err)
		if got := kv(t, e.rt, a.ID()); !maps.Equal(got, want) {
			t.Fatalf("a failed restore changed the object: %d keys, want %d", len(got), len(want))
		}
		if err := os.WriteFile(path, orig, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	damage(segs[0], func(b []byte) []byte { b[len(b)/4] ^= 0x40; return b })
	bases, _ := filepath.Glob(filepath.Join(histDir, "base-*.db"))
	damage(bases[0], func(b []byte) []byte { return b[:len(b)-100] })
	damage(bases[0], func(b []byte) []byte { b[len(b)-100] ^= 1; return b })
	e.rt.Close()
	e.hist.Close()
	e = start(t, dir, clock, history.Config{CheckpointBytes: 16 << 10})
	if _, err := e.rt.RestoreBookmark(ctx, "ledger", a.ID(), good); err != nil {
		t.Fatalf("the repaired history: %v", err)
	}
	integrity(t, e.rt, a.ID(), "ledger")
	if got := kv(t, e.rt, a.ID()); !maps.Equal(got, stateAfter(100)) {
		t.Fatalf("restored %d keys, want %d", len(got), len(stateAfter(100)))
	}
}

// TestNewAndColdObjectsKeptInHistory: with a History, every committed batch of a new
// object (its first batch included) and of a small object activated cold is
// restorable. Without one, the runtime runs those batches on an in-memory copy and
// writes the file whole or with SQLite's backup API, past the log the history
// archives; with one, they run on the file.
func TestNewAndColdObjectsKeptInHistory(t *testing.T) {
	dir := t.TempDir()
	clock := objecttest.NewClock()
	e := start(t, dir, clock, history.Config{})
	ctx := context.Background()
	const objects, rounds = 8, 3
	times := map[string][]time.Time{} // the moment after each turn, per object
	for r := 1; r <= rounds; r++ {
		for i := range objects {
			name := fmt.Sprintf("o%d", i)
			for n := 2*r - 1; n <= 2*r; n++ { // two batches per activation
				clock.Advance(time.Second)
				if _, err := turnM.Call(ctx, e.ns.GetByName(name), n); err != nil {
					t.Fatal(err)
				}
				times[name] = append(times[name], clock.Now())
			}
		}
		e.rt.EvictAll() // the next round activates every object cold
	}
	clock.Advance(time.Second)
	for i := range objects {
		name := fmt.Sprintf("o%d", i)
		id := e.ns.GetByName(name).ID()
		for n := 2 * rounds; n >= 1; n-- {
			bm, err := e.rt.BookmarkForTime(ctx, "ledger", id, times[name][n-1])
			if err != nil {
				t.Fatalf("%s after turn %d: %v", name, n, err)
			}
			if _, err := e.rt.RestoreBookmark(ctx, "ledger", id, bm); err != nil {
				t.Fatalf("%s after turn %d: restore: %v", name, n, err)
			}
			integrity(t, e.rt, id, "ledger")
			if got, want := kv(t, e.rt, id), stateAfter(n); !maps.Equal(got, want) {
				t.Fatalf("%s restored to after turn %d: %v, want %v", name, n, got, want)
			}
		}
		if err := e.hist.Verify("ledger", id); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRetentionSchedule: the History's schedule deletes what is older than the
// retention window, a base at a time, and keeps what is inside it restorable.
func TestRetentionSchedule(t *testing.T) {
	dir := t.TempDir()
	clock := objecttest.NewClock()
	e := start(t, dir, clock, history.Config{Retention: time.Hour, BaseInterval: 10 * time.Minute, SweepInterval: 10 * time.Millisecond})
	ctx := context.Background()
	stub := e.ns.GetByName("kept")
	id := stub.ID()
	var times []time.Time
	for n, gap := range []time.Duration{0, 20 * time.Minute, 20 * time.Minute, 2 * time.Hour} {
		clock.Advance(gap + time.Second)
		if _, err := turnM.Call(ctx, stub, n+1); err != nil {
			t.Fatal(err)
		}
		times = append(times, clock.Now())
		e.rt.EvictAll() // archived and checkpointed: a base when the last is 10 minutes old
	}
	clock.Advance(time.Minute) // the restores below happen after the moments they restore
	// Bases at turns 1, 2, 3 and 4 (0, 20, 40 and 160 minutes); the window starts at
	// 100 minutes: the groups of turns 1 and 2 go, the base of turn 3 (the state at
	// 100 minutes) stays.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := e.rt.BookmarkForTime(ctx, "ledger", id, times[1])
		if errors.Is(err, object.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("turn 2's moment, outside the window, still gives %v after 10 s of sweeps", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	histDir := filepath.Join(dir, ".history", "ledger", id.String()[:2], id.String())
	if bases, _ := filepath.Glob(filepath.Join(histDir, "base-*.db")); len(bases) != 2 {
		t.Fatalf("bases after the sweep: %v, want those of turns 3 and 4", bases)
	}
	if used, err := e.rt.HistoryUsage("ledger", id); err != nil || used <= 0 || e.hist.Bytes() != used {
		t.Fatalf("usage %d (%v), History.Bytes %d", used, err, e.hist.Bytes())
	}
	for n := 3; n <= 4; n++ {
		bm, err := e.rt.BookmarkForTime(ctx, "ledger", id, times[n-1])
		if err != nil {
			t.Fatalf("turn %d, inside the window: %v", n, err)
		}
		if _, err := e.rt.RestoreBookmark(ctx, "ledger", id, bm); err != nil {
			t.Fatal(err)
		}
		if got := kv(t, e.rt, id); !maps.Equal(got, stateAfter(n)) {
			t.Fatalf("restored to turn %d: %v", n, got)
		}
	}
	if err := e.hist.Verify("ledger", id); err != nil {
		t.Fatal(err)
	}
}

// TestDirKeptToOneHistory: a second History on the same folder (a second process on
// the same data directory) fails with object.ErrLocked before it reads anything; once
// the first is closed, it opens.
func TestDirKeptToOneHistory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".history")
	h, err := history.New(history.Config{Dir: dir, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := history.New(history.Config{Dir: dir, SweepInterval: -1}); !errors.Is(err, object.ErrLocked) {
		t.Fatalf("a second History on the folder: %v, want ErrLocked", err)
	}
	h.Close()
	h.Close() // twice is fine
	h2, err := history.New(history.Config{Dir: dir, SweepInterval: -1})
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	h2.Close()
}
