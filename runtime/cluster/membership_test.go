package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A node stops serving when its monotonic clock passes the lease's end, with no help
// from NATS (a partitioned node must fence itself); a lapsed lease is not renewed
// (TestLapsedLeaseIsRegisteredAnew): the node registers again.
func TestLeaseSelfFencesOnMonotonicClock(t *testing.T) {
	n, clock := joinWithClock(t, sharedCluster(t), 0, "selffence")
	pauseRenewals(n) // renew by hand below
	if !n.Serving() {
		t.Fatal("not serving after Join")
	}
	clock.Advance(testLeaseTTL - testLeaseMargin - time.Millisecond)
	if !n.Serving() {
		t.Fatal("stopped serving before the lease's end")
	}
	clock.Advance(time.Millisecond)
	if n.Serving() {
		t.Fatal("still serving at TTL - margin after the last renewal")
	}
	if err := n.lease.renew(testContext(t)); !errors.Is(err, ErrLeaseExpired) {
		t.Fatalf("renewal after the lease's end: %v, want ErrLeaseExpired (lost for good)", err)
	}
	if err := n.lease.register(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if !n.Serving() {
		t.Fatal("not serving after registering again")
	}
}

// A lease that is not renewed expires on the bucket (watchers see a delete marker);
// another node then tombstones it by Create, after which the old holder's renewal
// fails for certain; it registers again under a new incarnation, and what it opened
// under the old one stays refused.
func TestLeaseExpiryAndTombstone(t *testing.T) {
	c := sharedCluster(t)
	ctx := testContext(t)
	a, _ := joinWithClock(t, c, 0, "expiring") // frozen: it believes its lease valid, as a paused process would
	b := join(t, c, 1, testConfig("declarer"))
	obj, err := a.Open(ctx, "lease", "obj", t.TempDir()+"/obj.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()

	if dead, err := tombstone(ctx, b.a.nodes, "expiring", "declarer"); err != nil || dead {
		t.Fatalf("tombstone of a live node: dead=%v err=%v", dead, err)
	}
	w, err := b.a.nodes.Watch(ctx, "expiring", jetstream.UpdatesOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	pauseRenewals(a)
	start := time.Now()
	for e := range w.Updates() {
		if e != nil && e.Operation() != jetstream.KeyValuePut {
			break
		}
	}
	if waited := time.Since(start); waited < testLeaseTTL/2 || waited > 4*testLeaseTTL {
		t.Fatalf("key expired %v after the renewals stopped, lease TTL %v", waited, testLeaseTTL)
	}
	if dead, err := tombstone(ctx, b.a.nodes, "expiring", "declarer"); err != nil || !dead {
		t.Fatalf("tombstone of an expired node: dead=%v err=%v", dead, err)
	}
	if !a.Serving() {
		t.Fatal("the frozen clock should still say serving")
	}
	if err := a.lease.renew(ctx); !errors.Is(err, ErrLeaseExpired) {
		t.Fatalf("renewal after a tombstone: %v, want ErrLeaseExpired", err)
	}
	if a.Serving() {
		t.Fatal("serving after its renewal failed on a tombstone")
	}
	if err := a.lease.register(ctx); err != nil {
		t.Fatalf("register again: %v", err)
	}
	if !a.Serving() {
		t.Fatal("not serving after registering again")
	}
	err = obj.Commit(ctx, func() error { t.Fatal("commit ran under a dead incarnation"); return nil })
	if !errors.Is(err, ErrLeaseExpired) {
		t.Fatalf("commit under the old incarnation: %v, want ErrLeaseExpired", err)
	}
}

// A second process with a live node's name is refused.
func TestNodeNameInUse(t *testing.T) {
	c := sharedCluster(t)
	join(t, c, 0, testConfig("twin"))
	if err := joinError(t, c, 1, testConfig("twin")); !errors.Is(err, ErrNameInUse) {
		t.Fatalf("got %v, want ErrNameInUse", err)
	}
}

// Nodes configured otherwise than the cluster's recorded settings are refused.
func TestJoinRefusesOtherSettings(t *testing.T) {
	c := sharedCluster(t)
	join(t, c, 0, testConfig("settings1"))
	cfg := testConfig("settings2")
	cfg.LogShards = 3
	if err := joinError(t, c, 2, cfg); !errors.Is(err, ErrConfigMismatch) {
		t.Fatalf("got %v, want ErrConfigMismatch", err)
	}
	cfg = testConfig("settings3")
	cfg.LeaseTTL = testLeaseTTL + time.Second
	if err := joinError(t, c, 1, cfg); !errors.Is(err, ErrConfigMismatch) {
		t.Fatalf("another lease: got %v, want ErrConfigMismatch", err)
	}
}

// A node that leaves the lease to its default takes the cluster's recorded one: a
// cluster made before the default changed (10 s, then 5 s) keeps its lease, and its
// nodes started by a newer binary still join.
func TestJoinAdoptsTheClustersLease(t *testing.T) {
	c := sharedCluster(t)
	cfg := testConfig("default-lease")
	cfg.LeaseTTL, cfg.LeaseMargin = 0, 0
	n := join(t, c, 0, cfg)
	if testLeaseTTL == DefaultLeaseTTL {
		t.Fatal("this test needs the shared cluster's lease to differ from the default")
	}
	if n.cfg.LeaseTTL != testLeaseTTL || n.lease.ttl != testLeaseTTL || n.lease.margin != testLeaseTTL/5 {
		t.Fatalf("lease %v (the lease's %v, margin %v), want the cluster's %v and its default margin", n.cfg.LeaseTTL, n.lease.ttl, n.lease.margin, testLeaseTTL)
	}
}

// Pins a renewal that timed out here but landed on the server: the next renewal
// found the revision moved and gave the lease up (a new incarnation: every object of
// the node refused), and Close could not delete the key. A foreign write (another
// incarnation) must still end the lease.
func TestRenewAfterALateRenewalLanded(t *testing.T) {
	c := sharedCluster(t)
	ctx := testContext(t)
	n := join(t, c, 0, testConfig("late-renewal"))
	pauseRenewals(n)
	self, _ := n.lease.current()
	landLate := func() {
		t.Helper()
		val, _ := json.Marshal(self)
		if _, err := n.a.nodes.Update(ctx, "late-renewal", val, n.lease.rev); err != nil {
			t.Fatal(err)
		}
	}
	landLate()
	if err := n.lease.renew(ctx); err != nil {
		t.Fatalf("renewal after a late one landed: %v", err)
	}
	if now, _ := n.lease.current(); now.Incarnation != self.Incarnation || !n.Serving() {
		t.Fatal("the lease changed incarnation or stopped serving")
	}
	landLate()
	if err := n.lease.leave(ctx); err != nil {
		t.Fatalf("leave after a late renewal landed: %v", err)
	}
	if _, ok, _ := lookupMember(ctx, n.a.nodes, "late-renewal"); ok {
		t.Fatal("the key survived leave")
	}

	other := join(t, c, 1, testConfig("foreign-write"))
	pauseRenewals(other)
	val, _ := json.Marshal(member{Incarnation: "someone-else"})
	if _, err := other.a.nodes.Put(ctx, "foreign-write", val); err != nil {
		t.Fatal(err)
	}
	if err := other.lease.renew(ctx); !errors.Is(err, ErrLeaseExpired) {
		t.Fatalf("renewal over another incarnation: %v, want ErrLeaseExpired", err)
	}
}

// TestConcurrentJoinsOnAFreshCluster: nodes joining a new cluster at the same moment,
// through every server, all join. One of three chat processes started at once used to
// exit with "nats: key not found": it lost the race to record the cluster's settings,
// then read the record from a follower that had not applied it yet.
func TestConcurrentJoinsOnAFreshCluster(t *testing.T) {
	c, err := startCluster(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.shutdown)
	const nodes = 9
	errs := make(chan error, nodes)
	for i := range nodes {
		go func() {
			nc, err := c.servers[i%len(c.servers)].Connect()
			if err != nil {
				errs <- err
				return
			}
			defer nc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			n, err := Join(ctx, nc, testConfig(fmt.Sprintf("fresh%d", i)))
			if err == nil {
				n.Close()
			}
			errs <- err
		}()
	}
	for range nodes {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// A members watch that JetStream does not answer in time (a leader election, a
// loaded cluster) is tried again within the join's deadline; a join that fails
// after its lease was written gives the lease back. A restarted chaos node exited
// with "context deadline exceeded" at Join, and its lease then held its name
// against the next restart until it ran out.
func TestJoinSurvivesASlowMembersWatch(t *testing.T) {
	c := sharedCluster(t)
	failures := 2
	startMembersWatch = func(ctx context.Context, kv jetstream.KeyValue) (*memberCache, error) {
		if failures > 0 {
			failures--
			return nil, fmt.Errorf("nats: %w", context.DeadlineExceeded) // as a request past its timeout
		}
		return watchMembers(ctx, kv)
	}
	defer func() { startMembersWatch = watchMembers }()
	n := join(t, c, 0, testConfig("slow-watch"))
	if failures != 0 || !n.Serving() {
		t.Fatalf("joined with %d failures left, serving %v", failures, n.Serving())
	}

	// A watch that never starts: Join fails at its deadline, and the name is free
	// for the next attempt at once.
	startMembersWatch = func(context.Context, jetstream.KeyValue) (*memberCache, error) {
		return nil, fmt.Errorf("nats: %w", context.DeadlineExceeded)
	}
	nc, err := c.servers[1].Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := Join(ctx, nc, testConfig("no-watch")); err == nil {
		t.Fatal("joined without a members watch")
	}
	startMembersWatch = watchMembers
	if n := join(t, c, 1, testConfig("no-watch")); !n.Serving() {
		t.Fatal("the next attempt is not serving")
	}
}

// While the nodes bucket's stream elects a leader (its leader's server killed), every
// renewal fails at once and the lease lapses; the node tries again every renewRetry
// instead of once a period (TTL/4), so it serves again soon after the election, not
// up to a period later.
func TestFailedRenewalIsRetriedSoon(t *testing.T) {
	t.Parallel() // waits seconds, as TestRuntimeZombieCommitRefused does
	c := sharedCluster(t)
	n := join(t, c, 1, testConfig("renew-retry"))
	n.failRenew.Store(true)
	time.Sleep(3 * time.Second)
	n.failRenew.Store(false)
	if got, period := n.failedRenews.Load(), testLeaseTTL/4; got < 6 {
		t.Fatalf("%d renewals in 3 s of failures, want at least 6 (one every %v after the first, not every %v)", got, renewRetry, period)
	}
	waitFor(t, 5*time.Second, "the node to renew its lease", n.Serving)
}
