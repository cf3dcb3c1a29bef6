package object_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Sleeper is an object whose turns overrun the time limit on request.
type Sleeper struct {
	st    *object.State
	turns int
}

// sleepers registers Sleeper with its methods; stuck turns wait on release, and report
// on after what their storage says once released.
type sleepers struct {
	ns          *object.Namespace[Sleeper]
	activations *atomic.Int64
	honour      *object.Method[Sleeper, string, int]   // writes, then waits for its context
	ignore      *object.Method[Sleeper, string, int]   // writes, then waits for release
	slowCommit  *object.Method[Sleeper, string, int]   // writes; its OnCommit waits for release
	spinSQL     *object.Method[Sleeper, string, int]   // a query that never ends
	block       *object.Method[Sleeper, struct{}, int] // waits for release, touching nothing
	count       *object.Method[Sleeper, struct{}, int]
}

func registerSleepers(t *testing.T, rt *object.Runtime, release <-chan struct{}, after chan<- error) sleepers {
	t.Helper()
	var activations atomic.Int64
	write := func(s *Sleeper, key string) error {
		s.turns++
		return s.st.Storage().Put(key, []byte("written"))
	}
	honour := object.NewMethod("honour", func(s *Sleeper, ctx context.Context, key string) (int, error) {
		if err := write(s, key); err != nil {
			return 0, err
		}
		<-ctx.Done()
		return s.turns, nil // returns nil, late: still a failure
	})
	ignore := object.NewMethod("ignore", func(s *Sleeper, ctx context.Context, key string) (int, error) {
		if err := write(s, key); err != nil {
			return 0, err
		}
		<-release
		after <- s.st.Storage().Put(key+"-late", []byte("x"))
		return s.turns, nil
	})
	slowCommit := object.NewMethod("slow-commit", func(s *Sleeper, ctx context.Context, key string) (int, error) {
		if err := write(s, key); err != nil {
			return 0, err
		}
		s.st.OnCommit(func() { <-release })
		return s.turns, nil
	})
	spinSQL := object.NewMethod("spin-sql", func(s *Sleeper, ctx context.Context, key string) (int, error) {
		if err := write(s, key); err != nil {
			return 0, err
		}
		var n int
		err := s.st.SQL().QueryRow(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c`).Scan(&n)
		return n, err
	})
	block := object.NewMethod("block", func(s *Sleeper, ctx context.Context, _ struct{}) (int, error) {
		<-release
		return 0, nil
	})
	count := object.NewMethod("count", func(s *Sleeper, ctx context.Context, _ struct{}) (int, error) {
		s.turns++
		return s.turns, nil
	})
	ns, err := object.Register(rt, "sleeper", func(ctx context.Context, st *object.State) (*Sleeper, error) {
		activations.Add(1)
		return &Sleeper{st: st}, nil
	}, object.Methods(honour, ignore, slowCommit, spinSQL, block, count))
	if err != nil {
		t.Fatal(err)
	}
	return sleepers{
		ns:          ns,
		activations: &activations,
		honour:      honour,
		ignore:      ignore,
		slowCommit:  slowCommit,
		spinSQL:     spinSQL,
		block:       block,
		count:       count,
	}
}

// within fails the test unless f returns within d.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not finish within %v", what, d)
	}
}

const testLimit = time.Second

// TestTurnTimeLimit pins issue 13 item 4 (the limit): a turn had no time limit. Now at
// Config.TurnTimeout its context is cancelled and it fails with ErrTimeout, even if it
// returns nil afterwards; its writes are rolled back and the instance reset. Fails on
// the code before the fix (no TurnTimeout: it does not compile; the turn ran forever).
func TestTurnTimeLimit(t *testing.T) {
	rt := objecttest.New(t, object.Config{TurnTimeout: testLimit})
	s := registerSleepers(t, rt.Runtime, nil, nil)
	ctx := context.Background()
	stub := s.ns.GetByName("a")
	if _, err := s.count.Call(ctx, stub, struct{}{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := s.honour.Call(ctx, stub, "k")
	if !errors.Is(err, object.ErrTimeout) {
		t.Fatalf("a turn past its limit: %v, want ErrTimeout", err)
	}
	if el := time.Since(start); el < testLimit || el > testLimit+5*time.Second {
		t.Fatalf("failed after %v, limit %v", el, testLimit)
	}
	if n, err := s.count.Call(ctx, stub, struct{}{}); err != nil || n != 1 || s.activations.Load() != 2 {
		t.Fatalf("after the timeout: count %d, %v, %d activations; want a fresh instance", n, err, s.activations.Load())
	}
	if kv := rt.KV(t, "sleeper", stub.ID()); len(kv) != 0 {
		t.Fatalf("the timed-out turn's write was kept: %v", kv)
	}
	// A query that would never end is interrupted at the limit.
	if _, err := s.spinSQL.Call(ctx, stub, "q"); !errors.Is(err, object.ErrTimeout) {
		t.Fatalf("an endless query: %v, want ErrTimeout", err)
	}
	if st := rt.Stats(); st.Timeouts != 2 || st.Abandoned != 0 {
		t.Fatalf("Timeouts %d, Abandoned %d; want 2, 0", st.Timeouts, st.Abandoned)
	}
}

// TestTurnIgnoringItsLimitIsAbandoned pins issue 13 item 4 (a turn that ignores its
// context): the object is restarted from storage for its next events, the stuck
// call's caller and the rest of its batch fail, and the stuck goroutine, once it wakes,
// can no longer write. Fails on the code before the fix (the call hung for ever).
func TestTurnIgnoringItsLimitIsAbandoned(t *testing.T) {
	rt := objecttest.New(t, object.Config{TurnTimeout: testLimit})
	release := make(chan struct{})
	after := make(chan error, 1)
	s := registerSleepers(t, rt.Runtime, release, after)
	ctx := context.Background()
	stub := s.ns.GetByName("a")
	var stuckErr error
	within(t, 15*time.Second, "the stuck call", func() { _, stuckErr = s.ignore.Call(ctx, stub, "k") })
	if !errors.Is(stuckErr, object.ErrTimeout) {
		t.Fatalf("the stuck call: %v, want ErrTimeout", stuckErr)
	}
	if n, err := s.count.Call(ctx, stub, struct{}{}); err != nil || n != 1 {
		t.Fatalf("the next call: %d, %v; want a fresh instance", n, err)
	}
	close(release)
	if err := <-after; !errors.Is(err, object.ErrNotInTurn) {
		t.Fatalf("the abandoned turn's late write: %v, want ErrNotInTurn", err)
	}
	if n, err := s.count.Call(ctx, stub, struct{}{}); err != nil || n != 2 {
		t.Fatalf("after the abandoned goroutine woke: %d, %v", n, err)
	}
	if kv := rt.KV(t, "sleeper", stub.ID()); len(kv) != 0 {
		t.Fatalf("the abandoned turn's writes were kept: %v", kv)
	}
	if st := rt.Stats(); st.Abandoned != 1 {
		t.Fatalf("Abandoned %d, want 1", st.Abandoned)
	}
}

// stuckSleeper starts a runtime under the test limit with Sleeper registered, whose
// stuck turns are released when the test ends, and returns object a.
func stuckSleeper(t *testing.T) (*objecttest.Runtime, sleepers, object.Stub[Sleeper]) {
	t.Helper()
	rt := objecttest.New(t, object.Config{TurnTimeout: testLimit})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s := registerSleepers(t, rt.Runtime, release, nil)
	return rt, s, s.ns.GetByName("a")
}

// TestStuckTurnWithoutStorageIsAbandoned: a turn stuck in plain Go code (no storage
// call, so nothing it does synchronizes with the watchdog) is abandoned like any
// other. Under -race it failed before the runner read its instance ahead of the user
// call: abandon's reset wrote the field the stuck call had read.
func TestStuckTurnWithoutStorageIsAbandoned(t *testing.T) {
	_, s, stub := stuckSleeper(t)
	ctx := context.Background()
	var err error
	within(t, 15*time.Second, "the stuck call", func() { _, err = s.block.Call(ctx, stub, struct{}{}) })
	if !errors.Is(err, object.ErrTimeout) {
		t.Fatalf("the stuck call: %v, want ErrTimeout", err)
	}
	if n, err := s.count.Call(ctx, stub, struct{}{}); err != nil || n != 1 {
		t.Fatalf("the next call: %d, %v; want a fresh instance", n, err)
	}
}

// TestStuckOnCommitIsAbandoned: the OnCommit callbacks of a batch run under the limit
// too. The turn committed, so its caller gets its result; the object restarts.
func TestStuckOnCommitIsAbandoned(t *testing.T) {
	rt, s, stub := stuckSleeper(t)
	ctx := context.Background()
	var n int
	var err error
	within(t, 15*time.Second, "the call whose callback is stuck", func() { n, err = s.slowCommit.Call(ctx, stub, "k") })
	if err != nil || n != 1 {
		t.Fatalf("committed turn with a stuck callback: %d, %v; want its result", n, err)
	}
	if got := rt.KV(t, "sleeper", stub.ID())["k"]; got != "written" {
		t.Fatalf("the committed write: %q", got)
	}
	if n, err := s.count.Call(ctx, stub, struct{}{}); err != nil || n != 1 {
		t.Fatalf("the next call: %d, %v; want a fresh instance", n, err)
	}
}

// TestCloseIsBoundedByTheTurnLimit pins issue 13 item 4 (Close): Close waited for
// running turns for ever. Now it returns within the limit plus the grace period
// whatever a turn does. Fails on the code before the fix (Close hung).
func TestCloseIsBoundedByTheTurnLimit(t *testing.T) {
	rt := objecttest.New(t, object.Config{TurnTimeout: testLimit})
	release := make(chan struct{})
	defer close(release)
	s := registerSleepers(t, rt.Runtime, release, make(chan error, 1))
	started := make(chan struct{})
	go func() {
		close(started)
		s.ignore.Call(context.Background(), s.ns.GetByName("a"), "k")
	}()
	<-started
	for rt.Stats().Turns == 0 {
		time.Sleep(time.Millisecond)
	}
	within(t, 15*time.Second, "Close", func() { rt.Close() })
}

// Peer is an object that calls another object on request.
type Peer struct {
	arrived *sync.WaitGroup
}

// registerPeers registers Peer with ping and call-peer, which pings another object
// with the context callCtx derives from the turn's, once meet objects are all in
// their call-peer turns (so that every call of a cycle is made before any returns).
func registerPeers(t *testing.T, rt *object.Runtime, meet int, callCtx func(turn context.Context) context.Context) (*object.Namespace[Peer], *object.Method[Peer, struct{}, int], *object.Method[Peer, string, int]) {
	t.Helper()
	var arrived sync.WaitGroup
	arrived.Add(meet)
	var ns *object.Namespace[Peer]
	ping := object.NewMethod("ping", func(p *Peer, ctx context.Context, _ struct{}) (int, error) { return 1, nil })
	callPeer := object.NewMethod("call-peer", func(p *Peer, ctx context.Context, to string) (int, error) {
		p.arrived.Done()
		p.arrived.Wait()
		return ping.Call(callCtx(ctx), ns.GetByName(to), struct{}{})
	})
	ns, err := object.Register(rt, "peer", func(ctx context.Context, st *object.State) (*Peer, error) {
		return &Peer{arrived: &arrived}, nil
	}, object.Methods(ping, callPeer))
	if err != nil {
		t.Fatal(err)
	}
	return ns, ping, callPeer
}

// TestCallCycleAcrossObjectsFails pins issue 13 item 4 (cycles): cycle detection
// followed one call chain only, so a calling b while b called a, each from its own
// background turn (a WebSocket message, an alarm), blocked both for ever. Now the call
// that closes the cycle fails with ErrDeadlock at once (the limit is set far away to
// show it is not what ends it). Fails on the code before the fix (both calls hang).
func TestCallCycleAcrossObjectsFails(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprint(n, " objects"), func(t *testing.T) {
			rt := objecttest.New(t, object.Config{})
			ns, _, callPeer := registerPeers(t, rt.Runtime, n, func(turn context.Context) context.Context { return turn })
			errs := make([]error, n)
			var wg sync.WaitGroup
			within(t, 10*time.Second, "the calls around the cycle", func() {
				for i := range n {
					wg.Go(func() {
						_, errs[i] = callPeer.Call(context.Background(), ns.GetByName(fmt.Sprint(i)), fmt.Sprint((i+1)%n))
					})
				}
				wg.Wait()
			})
			deadlocks := 0
			for i, err := range errs {
				switch {
				case errors.Is(err, object.ErrDeadlock):
					deadlocks++
				case err != nil:
					t.Errorf("call %d: %v", i, err)
				}
			}
			if deadlocks == 0 {
				t.Fatal("no call failed with ErrDeadlock")
			}
		})
	}
}

// TestCallCycleWithDetachedContextsEndsAtTheLimit pins the rest of issue 13 item 4:
// a cycle whose calls do not carry the turn's context (context.Background() inside a
// handler) is invisible to the wait-for graph, so nothing can fail it at once; it
// must still end, at the turn time limit, and both objects serve afterwards. Fails
// on the code before the fix (no limit: both calls hung for ever).
func TestCallCycleWithDetachedContextsEndsAtTheLimit(t *testing.T) {
	rt := objecttest.New(t, object.Config{TurnTimeout: testLimit})
	ns, ping, callPeer := registerPeers(t, rt.Runtime, 2, func(context.Context) context.Context { return context.Background() })
	errs := make([]error, 2)
	var wg sync.WaitGroup
	within(t, 15*time.Second, "the calls around the cycle", func() {
		for i := range 2 {
			wg.Go(func() {
				_, errs[i] = callPeer.Call(context.Background(), ns.GetByName(fmt.Sprint(i)), fmt.Sprint(1-i))
			})
		}
		wg.Wait()
	})
	timeouts := 0
	for _, err := range errs {
		if errors.Is(err, object.ErrTimeout) {
			timeouts++
		}
	}
	if timeouts == 0 {
		t.Fatalf("the cycle ended with %v, want an ErrTimeout", errs)
	}
	for i := range 2 {
		if _, err := ping.Call(context.Background(), ns.GetByName(fmt.Sprint(i)), struct{}{}); err != nil {
			t.Fatalf("object %d after the cycle: %v", i, err)
		}
	}
}

// TestStuckAlarmHandlerIsAbandoned: an alarm handler gets the same limit as any turn
// (each handler of a wake its own), and one that ignores it is abandoned; the object
// goes on serving and the alarm, rolled back with its turn, is still set for a retry.
func TestStuckAlarmHandlerIsAbandoned(t *testing.T) {
	rt := objecttest.New(t, object.Config{TurnTimeout: testLimit})
	release := make(chan struct{})
	defer close(release)
	rec := &recorder{onAlarm: func(st *object.State) error {
		<-release
		return nil
	}}
	ns := registerTimer(t, rt.Runtime, rec)
	run(t, ns, "a", func(st *object.State) error { return st.SetAlarm(st.Now().Add(time.Minute)) })
	rt.Clock.Advance(time.Minute)
	eventually(t, "the stuck handler to be abandoned", func() bool { return rt.Stats().Abandoned == 1 })
	var set bool
	within(t, 15*time.Second, "a turn after the abandoned handler", func() {
		run(t, ns, "a", func(st *object.State) (err error) {
			_, set, err = st.GetAlarm()
			return err
		})
	})
	if !set {
		t.Fatal("the alarm whose handler was abandoned is gone")
	}
}
