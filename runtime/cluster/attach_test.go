package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// The runtime in cluster mode: object.Runtimes on real SQLite files, each attached to
// a node of the shared three-server cluster.

// ledger is the objects' type in these tests: a table of numbers, an alarm that
// records which node fired it, and a method calling another ledger.
type ledger struct {
	st   *object.State
	node string
	ns   **object.Namespace[ledger]
}

func (l *ledger) Alarm(ctx context.Context, info object.AlarmInfo) error {
	_, err := l.st.SQL().Exec(`INSERT INTO fired (node, at, scheduled) VALUES (?, ?, ?)`,
		l.node, time.Now().UnixNano(), info.ScheduledTime.UnixNano())
	return err
}

var (
	ledgerAdd = object.NewMethod("add", func(l *ledger, ctx context.Context, n int) (int, error) {
		if _, err := l.st.SQL().Exec(`INSERT INTO entries (n) VALUES (?)`, n); err != nil {
			return 0, err
		}
		var count int
		err := l.st.SQL().QueryRow(`SELECT count(*) FROM entries`).Scan(&count)
		return count, err
	})
	// ledgerPut is add without the count: a turn of constant cost, for benchmarks.
	ledgerPut = object.NewMethod("put", func(l *ledger, ctx context.Context, n int) (struct{}, error) {
		_, err := l.st.SQL().Exec(`INSERT OR REPLACE INTO entries (n) VALUES (?)`, n%1000)
		return struct{}{}, err
	})
	ledgerEntries = object.NewMethodNoArg("entries", func(l *ledger, ctx context.Context) ([]int, error) {
		return l.entries()
	})
	ledgerRefuse = object.NewMethodNoArg("refuse", func(l *ledger, ctx context.Context) (int, error) {
		return 0, object.NewError("refused", "not today").WithStatus(409)
	})
	ledgerForward = object.NewMethod("forward", func(l *ledger, ctx context.Context, arg forwardArg) (int, error) {
		return ledgerAdd.Call(ctx, (*l.ns).GetByName(arg.To), arg.N)
	})
	// ledgerRelay calls relay on the first object of the path with the rest, and adds
	// n to the last one.
	ledgerRelay = object.NewMethod("relay", func(l *ledger, ctx context.Context, arg relayArg) (int, error) {
		if len(arg.Path) == 0 {
			return 0, nil
		}
		next := (*l.ns).GetByName(arg.Path[0])
		if len(arg.Path) == 1 {
			return ledgerAdd.Call(ctx, next, arg.N)
		}
		return ledgerRelayCall(ctx, next, relayArg{Path: arg.Path[1:], N: arg.N})
	})
	ledgerSetAlarm = object.NewMethod("set_alarm", func(l *ledger, ctx context.Context, in time.Duration) (struct{}, error) {
		return struct{}{}, l.st.SetAlarm(time.Now().Add(in))
	})
	// ledgerHold reads the entries like ledgerEntries, after waiting inside its turn
	// for the gate registered under the object's name (holdGates), if any.
	ledgerHold = object.NewMethod("hold", func(l *ledger, ctx context.Context, name string) ([]int, error) {
		if g, ok := holdGates.Load(name); ok {
			close(g.(*holdGate).entered)
			<-g.(*holdGate).release
		}
		return l.entries()
	})
	ledgerFired = object.NewMethodNoArg("fired", func(l *ledger, ctx context.Context) ([]firing, error) {
		rows, err := l.st.SQL().Query(`SELECT node, at, scheduled FROM fired ORDER BY at`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []firing
		for rows.Next() {
			var f firing
			if err := rows.Scan(&f.Node, &f.At, &f.Scheduled); err != nil {
				return nil, err
			}
			out = append(out, f)
		}
		return out, rows.Err()
	})
)

func (l *ledger) entries() ([]int, error) {
	rows, err := l.st.SQL().Query(`SELECT n FROM entries ORDER BY n`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []int{}
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// holdGates holds a *holdGate by object name, for ledgerHold.
var holdGates sync.Map

// holdGate blocks one turn of ledgerHold: entered is closed once the turn waits,
// release lets it go on.
type holdGate struct{ entered, release chan struct{} }

type relayArg struct {
	Path []string
	N    int
}

// ledgerRelayCall breaks the initialization cycle of ledgerRelay calling itself.
var ledgerRelayCall func(context.Context, object.Stub[ledger], relayArg) (int, error)

func init() {
	ledgerRelayCall = func(ctx context.Context, s object.Stub[ledger], a relayArg) (int, error) {
		return ledgerRelay.Call(ctx, s, a)
	}
}

type forwardArg struct {
	To string
	N  int
}

type firing struct {
	Node          string
	At, Scheduled int64
}

// rtNode is a node with its runtime.
type rtNode struct {
	n  *Node
	rt *object.Runtime
	ns *object.Namespace[ledger]
}

// startRuntime joins a node through server i and starts a runtime attached to it,
// with the namespace "ledger" (opts added), both closed when the test ends.
func startRuntime(t testing.TB, c *testCluster, i int, cfg Config, opts ...object.Option) *rtNode {
	t.Helper()
	return attachRuntime(t, join(t, c, i, cfg), opts...)
}

func attachRuntime(t testing.TB, n *Node, opts ...object.Option) *rtNode {
	t.Helper()
	return attachRuntimeConfig(t, n, object.Config{}, opts...)
}

// attachRuntimeConfig is attachRuntime with the runtime's configuration ocfg (its
// data directory, clock and logger filled in).
func attachRuntimeConfig(t testing.TB, n *Node, ocfg object.Config, opts ...object.Option) *rtNode {
	t.Helper()
	ocfg.DataDir, ocfg.Clock = t.TempDir(), object.SystemClock
	ocfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	n.Attach(&ocfg)
	rt, err := object.New(ocfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	r := &rtNode{n: n, rt: rt}
	name := n.Name()
	ns, err := object.Register(rt, "ledger", func(ctx context.Context, st *object.State) (*ledger, error) {
		for _, q := range []string{
			`CREATE TABLE IF NOT EXISTS entries (n INTEGER PRIMARY KEY)`,
			`CREATE TABLE IF NOT EXISTS fired (node TEXT, at INTEGER, scheduled INTEGER)`,
		} {
			if _, err := st.SQL().Exec(q); err != nil {
				return nil, err
			}
		}
		return &ledger{st: st, node: name, ns: &r.ns}, nil
	}, append([]object.Option{object.Methods(ledgerAdd, ledgerPut, ledgerEntries, ledgerRefuse, ledgerForward, ledgerRelay, ledgerSetAlarm, ledgerFired, ledgerHold)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	r.ns = ns
	return r
}

func (r *rtNode) add(ctx context.Context, obj string, n int) (int, error) {
	return ledgerAdd.Call(ctx, r.ns.GetByName(obj), n)
}

func (r *rtNode) entries(t testing.TB, obj string) []int {
	t.Helper()
	got, err := ledgerEntries.Call(testContext(t), r.ns.GetByName(obj))
	if err != nil {
		t.Fatalf("entries of %s on %s: %v", obj, r.n.Name(), err)
	}
	return got
}

// An object served on node A, A stopped: the object is re-opened on B with every
// acknowledged turn present (group-committed by 16 concurrent callers) and its file
// passes integrity_check; A refuses calls from then on.
func TestRuntimeFailoverKeepsAcknowledgedTurns(t *testing.T) {
	c := sharedCluster(t)
	a := startRuntime(t, c, 0, testConfig("rt-fail-a"))
	b := startRuntime(t, c, 1, testConfig("rt-fail-b"))
	ctx := testContext(t)
	var mu sync.Mutex
	var acked []int
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				n := g*100 + i
				if _, err := a.add(ctx, "doc", n); err != nil {
					t.Errorf("add %d on A: %v", n, err)
					return
				}
				mu.Lock()
				acked = append(acked, n)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if st := a.rt.Stats(); st.Commits >= st.CommittedTurns {
		t.Logf("no batch had more than one turn (%d commits, %d turns)", st.Commits, st.CommittedTurns)
	}
	if err := a.n.Close(); err != nil { // A's node stops (its key deleted)
		t.Fatal(err)
	}
	if _, err := a.add(ctx, "doc", 9999); !errors.Is(err, object.ErrRetryable) {
		t.Fatalf("A served a call after its node stopped: %v", err)
	}
	if _, err := b.add(ctx, "doc", 5000); err != nil {
		t.Fatalf("add on B after A stopped: %v", err)
	}
	got := b.entries(t, "doc")
	want := append(slices.Clone(acked), 5000)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("B has %d entries, want the %d acknowledged: got %v", len(got), len(want), got)
	}
	if err := integrityCheck(ctx, b.rt.DatabasePath("ledger", b.ns.IDFromName("doc"))); err != nil {
		t.Fatal(err)
	}
}

// A zombie owner (its lease stopped renewing, its clock frozen so it still believes
// itself alive) keeps its instance open; once another node took the object over, the
// zombie's next turn cannot commit: the call fails with ErrRetryable (no effect), the
// new owner never sees it, and the zombie drops its instance (its next activation is
// refused, naming the new owner, and its next call is sent there).
func TestRuntimeZombieCommitRefused(t *testing.T) {
	t.Parallel() // waits for a lease to run out, as TestRPCToADeadOwnerWaitsForItsLease does
	c := sharedCluster(t)
	zn, _ := joinWithClock(t, c, 0, "rt-zombie")
	zombie := attachRuntime(t, zn)
	heir := startRuntime(t, c, 1, testConfig("rt-heir"))
	ctx := testContext(t)
	for i := range 3 {
		if _, err := zombie.add(ctx, "z", i); err != nil {
			t.Fatal(err)
		}
	}
	pauseRenewals(zn)
	waitFor(t, 4*testLeaseTTL, "the zombie's lease to expire", func() bool {
		_, ok, err := lookupMember(context.Background(), heir.n.a.nodes, "rt-zombie")
		return err == nil && !ok
	})
	if _, err := heir.add(ctx, "z", 10); err != nil {
		t.Fatal(err)
	}
	if !zn.Serving() {
		t.Fatal("the zombie knows it is dead: this test needs one that does not")
	}
	_, err := zombie.add(ctx, "z", 666)
	if !errors.Is(err, object.ErrRetryable) {
		t.Fatalf("the zombie's commit: %v, want ErrRetryable", err)
	}
	if got := heir.entries(t, "z"); !slices.Equal(got, []int{0, 1, 2, 10}) {
		t.Fatalf("heir has %v", got)
	}
	id := zombie.ns.IDFromName("z")
	_, err = zombie.rt.InvokeHere(ctx, "ledger", id.String(), "z", true, "add", []byte("667"))
	var ee *object.ElsewhereError
	if !errors.As(err, &ee) || ee.Node != "rt-heir" || ee.Addr != "rt-heir.test:80" {
		t.Fatalf("the zombie's next activation: %v, want an ElsewhereError naming rt-heir", err)
	}
	if _, err := zombie.add(ctx, "z", 668); err != nil { // an RPC: sent to the heir
		t.Fatal(err)
	}
	if got := heir.entries(t, "z"); !slices.Equal(got, []int{0, 1, 2, 10, 668}) {
		t.Fatalf("heir has %v", got)
	}
}

// A method of an object on A calls an object B owns: the call is run on B, its result
// arrives after B's commit, and an application error keeps its code and status.
func TestRuntimeRPCAcrossNodes(t *testing.T) {
	c := sharedCluster(t)
	a := startRuntime(t, c, 0, testConfig("rt-rpc-a"))
	b := startRuntime(t, c, 2, testConfig("rt-rpc-b"))
	ctx := testContext(t)
	if _, err := b.add(ctx, "target", 1); err != nil {
		t.Fatal(err)
	}
	target := a.ns.IDFromName("target")
	var ee *object.ElsewhereError
	if err := a.n.Locate(ctx, "ledger", target); !errors.As(err, &ee) || ee.Node != "rt-rpc-b" || ee.Addr != "rt-rpc-b.test:80" {
		t.Fatalf("Locate on A: %v, want B", err)
	}
	if err := b.n.Locate(ctx, "ledger", target); err != nil {
		t.Fatalf("Locate on the owner: %v", err)
	}
	n, err := ledgerForward.Call(ctx, a.ns.GetByName("caller"), forwardArg{To: "target", N: 2})
	if err != nil || n != 2 {
		t.Fatalf("forward from A: %d, %v; want 2", n, err)
	}
	if got := b.entries(t, "target"); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("target on B has %v", got)
	}
	if got := a.entries(t, "target"); !slices.Equal(got, []int{1, 2}) { // sent to B as well
		t.Fatalf("target read through A: %v", got)
	}
	_, err = ledgerRefuse.Call(ctx, a.ns.GetByName("target"))
	ae, ok := object.AsError(err)
	if !ok || ae.Code != "refused" || ae.Status != 409 || ae.Message != "not today" {
		t.Fatalf("application error through A: %v", err)
	}
}

// A cycle of calls across nodes (x on A calls y on B, which calls x) fails at once
// with ErrDeadlock, as in one process, instead of waiting for the turn time limit;
// a chain without a cycle (x on A, y on B, z on A) works.
func TestRuntimeRPCDeadlockAcrossNodes(t *testing.T) {
	c := sharedCluster(t)
	a := startRuntime(t, c, 0, testConfig("rt-cyc-a"))
	b := startRuntime(t, c, 1, testConfig("rt-cyc-b"))
	ctx := testContext(t)
	if _, err := b.add(ctx, "cyc-y", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.add(ctx, "cyc-x", 0); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := ledgerRelay.Call(ctx, a.ns.GetByName("cyc-x"), relayArg{Path: []string{"cyc-y", "cyc-x"}, N: 1})
	if !errors.Is(err, object.ErrDeadlock) || time.Since(start) > 10*time.Second {
		t.Fatalf("x -> y -> x: %v after %v, want ErrDeadlock at once", err, time.Since(start))
	}
	if n, err := ledgerRelay.Call(ctx, a.ns.GetByName("cyc-x"), relayArg{Path: []string{"cyc-y", "cyc-z"}, N: 5}); err != nil || n != 1 {
		t.Fatalf("x -> y -> z: %d, %v", n, err)
	}
}

// Errors keep their meaning across nodes.
func TestRPCErrorRoundTrip(t *testing.T) {
	for _, err := range []error{object.ErrOverloaded, object.ErrRetryable, object.ErrIndeterminate, object.ErrNotFound,
		object.ErrTimeout, object.ErrDeadlock, context.DeadlineExceeded} {
		wrapped := fmt.Errorf("somewhere: %w", err)
		if got := encodeRPCError(wrapped).decode(); !errors.Is(got, err) {
			t.Errorf("%v crossed as %v", err, got)
		}
	}
	got := encodeRPCError(&object.ElsewhereError{Node: "n2", Addr: "h:1"}).decode()
	if ee := (*object.ElsewhereError)(nil); !errors.As(got, &ee) || *ee != (object.ElsewhereError{Node: "n2", Addr: "h:1"}) {
		t.Errorf("ElsewhereError crossed as %v", got)
	}
	if got := encodeRPCError(errors.New("boom")).decode(); errors.Is(got, object.ErrRetryable) {
		t.Errorf("a plain error crossed as retryable: %v", got)
	}
}

// An alarm set on A fires on B after A dies, not before its time, though no request
// for the object ever reaches B.
func TestRuntimeAlarmFiresOnNewOwnerAfterFailover(t *testing.T) {
	c := sharedCluster(t)
	a := startRuntime(t, c, 0, testConfig("rt-alarm-a"))
	b := startRuntime(t, c, 1, testConfig("rt-alarm-b"))
	ctx := testContext(t)
	if _, err := ledgerSetAlarm.Call(ctx, a.ns.GetByName("alarmed"), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	a.rt.Close() // A dies before the alarm is due
	a.n.Close()
	id := b.ns.IDFromName("alarmed")
	key := objectKey("ledger", id.String())
	waitFor(t, 20*time.Second, "B to take the object over for its alarm", func() bool {
		cur, rev, err := readClaim(context.Background(), b.n.a.owners, key)
		return err == nil && rev != 0 && cur.Node == "rt-alarm-b"
	})
	var fired []firing
	waitFor(t, 10*time.Second, "the alarm to fire on B", func() bool {
		var err error
		fired, err = ledgerFired.Call(ctx, b.ns.Get(id))
		return err == nil && len(fired) > 0
	})
	f := fired[0]
	if f.Node != "rt-alarm-b" || f.At < f.Scheduled {
		t.Fatalf("fired %+v: want on rt-alarm-b, not before its time", f)
	}
}

// A node whose lease lapsed closes its open objects and refuses every call until the
// lease is valid again, and then serves again.
func TestRuntimeSelfFencing(t *testing.T) {
	c := sharedCluster(t)
	n, clock := joinWithClock(t, c, 2, "rt-fence")
	r := attachRuntime(t, n)
	ctx := testContext(t)
	if _, err := r.add(ctx, "f", 1); err != nil {
		t.Fatal(err)
	}
	n.skipRenew.Store(true)
	clock.Advance(testLeaseTTL) // past the lease's end on the node's own clock
	if n.Serving() {
		t.Fatal("still serving past the lease")
	}
	waitFor(t, 5*time.Second, "the open object to be closed", func() bool { return r.rt.Stats().OpenDatabases == 0 })
	if _, err := r.add(ctx, "f", 2); !errors.Is(err, object.ErrRetryable) {
		t.Fatalf("a call while the lease lapsed: %v, want ErrRetryable", err)
	}
	n.skipRenew.Store(false)
	waitFor(t, 2*testLeaseTTL, "the lease to be renewed", n.Serving)
	if _, err := r.add(ctx, "f", 3); err != nil {
		t.Fatalf("a call once the lease is valid again: %v", err)
	}
	if got := r.entries(t, "f"); !slices.Equal(got, []int{1, 3}) {
		t.Fatalf("entries %v", got)
	}
}

// A namespace that asks for a region is activated on a node of that region: a call
// made on a node elsewhere fails with an ElsewhereError naming it (the server routes
// there), an RPC is sent there.
func TestRuntimeRegionHint(t *testing.T) {
	c := sharedCluster(t)
	cfgUS, cfgEU := testConfig("rt-us"), testConfig("rt-eu")
	cfgUS.Region, cfgEU.Region = "us-test", "eu-test"
	us := startRuntime(t, c, 0, cfgUS, object.InRegion("eu-test"))
	eu := startRuntime(t, c, 1, cfgEU, object.InRegion("eu-test"))
	waitFor(t, 10*time.Second, "us to see eu alive", func() bool {
		_, ok := us.n.members.get("rt-eu")
		return ok
	})
	ctx := testContext(t)
	id := us.ns.IDFromName("hinted")
	if err := eu.n.Locate(ctx, "ledger", id); err != nil {
		t.Fatalf("Locate on eu: %v", err)
	}
	if err := us.n.Locate(ctx, "ledger", id); !errors.As(err, new(*object.ElsewhereError)) {
		t.Fatalf("Locate on us: %v, want eu", err)
	}
	_, err := us.rt.InvokeHere(ctx, "ledger", id.String(), "hinted", true, "add", []byte("7"))
	var ee *object.ElsewhereError
	if !errors.As(err, &ee) || ee.Node != "rt-eu" || ee.Addr != "rt-eu.test:80" {
		t.Fatalf("an object of the hinted namespace activated on us: %v", err)
	}
	if n, err := us.add(ctx, "hinted", 8); err != nil || n != 1 { // sent to eu
		t.Fatalf("add through us: %d, %v", n, err)
	}
	if got := eu.entries(t, "hinted"); !slices.Equal(got, []int{8}) {
		t.Fatalf("entries on eu: %v", got)
	}
	cur, _, err := readClaim(ctx, eu.n.a.owners, objectKey("ledger", eu.ns.IDFromName("hinted").String()))
	if err != nil || cur.Node != "rt-eu" {
		t.Fatalf("owner %+v, %v", cur, err)
	}
}

// The runtime snapshots an object after a batch once SnapshotRecords records were
// appended (off the turn path: after the batch's results), so its log starts with a
// SNAP; the object's existence is known on a node that never had it; operations that
// would change a file behind the log's back are refused.
func TestRuntimeSnapshotsAndExists(t *testing.T) {
	c := sharedCluster(t)
	cfg := testConfig("rt-snap")
	cfg.SnapshotRecords = 5
	r := startRuntime(t, c, 2, cfg)
	other := startRuntime(t, c, 0, testConfig("rt-snap-other"), object.ExistingOnly())
	ctx := testContext(t)
	for i := range 12 {
		if _, err := r.add(ctx, "s", i); err != nil {
			t.Fatal(err)
		}
	}
	id := r.ns.IDFromName("s")
	kinds := restoreRecords(t, r.n, "ledger", id.String())
	if kinds[0] != kindSnap || len(kinds) > 5 {
		t.Fatalf("restore reads %q after 12 commits with SnapshotRecords 5: want a SNAP first, at most 4 records after it", kinds)
	}
	if !other.ns.Exists("s") || other.ns.Exists("never-made") {
		t.Fatal("Exists on a node that never had the object")
	}
	if err := r.rt.DeleteObject(ctx, "ledger", id); !errors.Is(err, object.ErrInvalidArgument) {
		t.Fatalf("DeleteObject in cluster mode: %v", err)
	}
}

// An operator's SQL write (the console) is shipped like a batch: after a failover the
// new owner has it.
func TestRuntimeConsoleWriteShipped(t *testing.T) {
	c := sharedCluster(t)
	a := startRuntime(t, c, 1, testConfig("rt-sql-a"))
	b := startRuntime(t, c, 2, testConfig("rt-sql-b"))
	ctx := testContext(t)
	if _, err := a.add(ctx, "q", 1); err != nil {
		t.Fatal(err)
	}
	id := a.ns.IDFromName("q")
	res, err := a.rt.Query(ctx, "ledger", id, `INSERT INTO entries (n) VALUES (42)`, object.QueryOptions{Write: true})
	if err != nil || res.RowsWritten != 1 {
		t.Fatalf("console write: %+v, %v", res, err)
	}
	if _, err := a.add(ctx, "q", 2); err != nil {
		t.Fatal(err)
	}
	a.rt.Close()
	a.n.Close()
	if got := b.entries(t, "q"); !slices.Equal(got, []int{1, 2, 42}) {
		t.Fatalf("entries on the new owner: %v", got)
	}
}

// A call to an object whose owner died without leaving (its key stays until the
// lease runs out) waits for the lease to end and then claims the object on the
// calling node, instead of failing at once with ErrRetryable ("no responders":
// TestRuntimeConsoleWriteShipped failed so when a's goodbye went unacknowledged).
func TestRPCToADeadOwnerWaitsForItsLease(t *testing.T) {
	t.Parallel() // waits for a lease to run out, as TestRuntimeZombieCommitRefused does
	c := sharedCluster(t)
	a := startRuntime(t, c, 0, testConfig("rpc-dead-a"))
	b := startRuntime(t, c, 1, testConfig("rpc-dead-b"))
	ctx := testContext(t)
	if _, err := a.add(ctx, "orphan", 1); err != nil {
		t.Fatal(err)
	}
	a.rt.Close()       // its RPC subscription ends: calls to it get "no responders"
	pauseRenewals(a.n) // and it never says goodbye
	// The subscription's end reaches b's server on its own. A call sent before that is
	// delivered to a's server and dropped there, and waits out its context: the clean-
	// clone CI failed so once, after 29.6 s, under load.
	waitFor(t, 10*time.Second, "b's server to see a's RPC subscription gone", func() bool {
		return !c.servers[1].ns.GlobalAccount().SubscriptionInterest(rpcSubjectPre + "rpc-dead-a")
	})
	start := time.Now()
	if _, err := b.add(ctx, "orphan", 2); err != nil {
		t.Fatalf("call to an object whose owner died, %v after: %v", time.Since(start).Round(time.Millisecond), err)
	}
	if got := b.entries(t, "orphan"); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("entries on the new owner: %v", got)
	}
	cur, _, err := readClaim(ctx, b.n.a.owners, objectKey("ledger", b.ns.IDFromName("orphan").String()))
	if err != nil || cur.Node != "rpc-dead-b" {
		t.Fatalf("claim after the call: %+v, %v; want rpc-dead-b's", cur, err)
	}
}

// A call delivered to an owner that is then killed (no answer will ever come) ends
// about a lease after the kill, as indeterminate (it may have run), instead of
// waiting out the caller's context (2 minutes without a deadline): the caller can
// retry on the object's next owner.
func TestRPCToAnOwnerKilledDuringTheCallEnds(t *testing.T) {
	t.Parallel() // waits for a lease to run out
	c := sharedCluster(t)
	a := startRuntime(t, c, 0, testConfig("rpc-killed-a"))
	b := startRuntime(t, c, 1, testConfig("rpc-killed-b"))
	ctx := testContext(t) // 30 s
	if _, err := a.add(ctx, "midcall", 1); err != nil {
		t.Fatal(err)
	}
	gate := &holdGate{entered: make(chan struct{}), release: make(chan struct{})}
	holdGates.Store("midcall", gate)
	t.Cleanup(func() { holdGates.Delete("midcall"); close(gate.release) })
	ended := make(chan error, 1)
	go func() {
		_, err := ledgerHold.Call(ctx, b.ns.GetByName("midcall"), "midcall") // through b: an RPC to a
		ended <- err
	}()
	select {
	case <-gate.entered:
	case <-ctx.Done():
		t.Fatal("the call did not reach a's turn")
	}
	pauseRenewals(a.n)
	a.n.js.Conn().Close() // killed: its answer can never be sent, its lease runs out
	killed := time.Now()
	var err error
	select {
	case err = <-ended:
	case <-ctx.Done():
		t.Fatalf("the call still unanswered %v after its owner was killed (lease %v)", time.Since(killed).Round(time.Millisecond), testLeaseTTL)
	}
	took := time.Since(killed)
	t.Logf("ended %v after the kill: %v", took.Round(time.Millisecond), err)
	if !errors.Is(err, object.ErrIndeterminate) {
		t.Fatalf("the call ended with %v, want ErrIndeterminate", err)
	}
	if limit := 3 * testLeaseTTL; took > limit {
		t.Fatalf("the call ended %v after the kill, past %v", took.Round(time.Millisecond), limit)
	}
	if got := b.entries(t, "midcall"); !slices.Equal(got, []int{1}) { // the next owner serves it
		t.Fatalf("entries on the new owner: %v", got)
	}
}

// A node's lease can be visible before its RPC subscription has reached the other
// servers (route interest travels on its own): a call sent to it in that window got
// "no responders" and failed at once with ErrRetryable (seen in CI under load). While
// the node holds a lease the call waits for its subscription instead.
func TestRPCWaitsForALiveNodesSubscription(t *testing.T) {
	c := sharedCluster(t)
	cfgLate := testConfig("rpc-late")
	cfgLate.Region = "late-rpc"
	us := startRuntime(t, c, 0, testConfig("rpc-early"))
	late := join(t, c, 1, cfgLate) // leased, but no runtime yet: nobody serves its subject
	waitFor(t, 10*time.Second, "the early node to see the late one alive", func() bool {
		_, ok := us.n.members.get("rpc-late")
		return ok
	})
	ctx := testContext(t)
	done := make(chan error, 1)
	go func() {
		_, err := ledgerAdd.Call(ctx, us.ns.GetByName("to-late", object.LocationHint("late-rpc")), 1)
		done <- err
	}()
	time.Sleep(500 * time.Millisecond)
	l := attachRuntime(t, late)
	if err := <-done; err != nil {
		t.Fatalf("call to a live node whose subscription came late: %v", err)
	}
	if got := l.entries(t, "to-late"); !slices.Equal(got, []int{1}) {
		t.Fatalf("entries on the late node: %v", got)
	}
}

// A call through a stub made with LocationHint activates its object on a node of that
// region when one is alive (an RPC made elsewhere is sent there), and where the call
// is made when none is; a stub without the hint activates it where it is called.
func TestRuntimeLocationHintOnGet(t *testing.T) {
	c := sharedCluster(t)
	cfgUS, cfgEU := testConfig("get-us"), testConfig("get-eu")
	cfgUS.Region, cfgEU.Region = "us-get", "eu-get"
	us := startRuntime(t, c, 0, cfgUS)
	eu := startRuntime(t, c, 1, cfgEU)
	waitFor(t, 10*time.Second, "us to see eu alive", func() bool {
		_, ok := us.n.members.get("get-eu")
		return ok
	})
	ctx := testContext(t)
	owner := func(obj string) string {
		t.Helper()
		cur, _, err := readClaim(ctx, us.n.a.owners, objectKey("ledger", us.ns.IDFromName(obj).String()))
		if err != nil {
			t.Fatal(err)
		}
		return cur.Node
	}
	add := func(obj string, n int, opts ...object.GetOption) {
		t.Helper()
		if _, err := ledgerAdd.Call(ctx, us.ns.GetByName(obj, opts...), n); err != nil {
			t.Fatalf("add to %s through us: %v", obj, err)
		}
	}
	add("to-eu", 1, object.LocationHint("eu-get"))
	if got := owner("to-eu"); got != "get-eu" {
		t.Fatalf("hinted eu-get, activated on %q", got)
	}
	if got := eu.entries(t, "to-eu"); !slices.Equal(got, []int{1}) {
		t.Fatalf("entries on eu: %v", got)
	}
	add("unhinted", 2)
	if got := owner("unhinted"); got != "get-us" {
		t.Fatalf("no hint, called on us: activated on %q", got)
	}
	add("nowhere", 3, object.LocationHint("ap-get")) // no live node of that region
	if got := owner("nowhere"); got != "get-us" {
		t.Fatalf("hinted a region with no node: activated on %q, want where called", got)
	}
	// The hint decides only where an unowned object goes: the us-owned object stays.
	add("unhinted", 4, object.LocationHint("eu-get"))
	if got := owner("unhinted"); got != "get-us" {
		t.Fatalf("an owned object moved to %q", got)
	}
}
