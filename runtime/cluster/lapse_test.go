package cluster

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/warrenhq/warren/runtime/object"
)

// Issue 20: two instances served one object at once. A lease whose end passed on the
// node's own clock must stay lost, whatever the bucket answers afterwards: a late
// renewal used to make its incarnation valid again, so a turn that was running
// across the lapse (or a pinned instance, or a socket's) committed, and its read was
// released, while another node had already claimed the object and written to it.
//
// Node A holds a read turn inside the object; its lease lapses on its clock; a
// renewal is then delivered (one round of keepLease), which the bucket accepts (the
// key has not expired there yet). The bucket then expires A's key (stood in for by a
// delete: a real expiry is timed by the bucket's clock, and one racing the late
// renewal cannot be arranged by a test) and B claims the object and writes to it.
// A's held turn must then be refused, its stale read never released.
func TestRuntimeLapsedLeaseNeverServesAgain(t *testing.T) {
	c := sharedCluster(t)
	an, clock := joinWithClock(t, c, 0, "rt-lapse")
	a := attachRuntime(t, an)
	b := startRuntime(t, c, 1, testConfig("rt-lapse-heir"))
	ctx := testContext(t)
	if _, err := a.add(ctx, "lapse", 1); err != nil {
		t.Fatal(err)
	}
	pauseRenewals(an) // renewals by hand below
	old, _ := an.lease.current()

	gate := &holdGate{entered: make(chan struct{}), release: make(chan struct{})}
	holdGates.Store("lapse", gate)
	t.Cleanup(func() { holdGates.Delete("lapse") })
	type result struct {
		got []int
		err error
	}
	held := make(chan result, 1)
	go func() {
		got, err := ledgerHold.Call(ctx, a.ns.GetByName("lapse"), "lapse")
		held <- result{got, err}
	}()
	select {
	case <-gate.entered:
	case <-ctx.Done():
		t.Fatal("the held turn did not start")
	}

	clock.Advance(testLeaseTTL) // past the lease's end on A's clock
	if an.Serving() {
		t.Fatal("A still serving past its lease's end")
	}
	err := an.renewOnce(ctx) // the late renewal: the key is still A's on the bucket
	now, _ := an.lease.current()
	t.Logf("late renewal: %v; incarnation %s -> %s; serving %v", err, old.Incarnation, now.Incarnation, an.Serving())
	if an.lease.valid(old.Incarnation) {
		t.Error("the lapsed incarnation is valid again after a late renewal")
	}

	// The bucket expires A's key; B takes the object over and writes.
	if err := b.n.a.nodes.Delete(ctx, "rt-lapse"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.add(ctx, "lapse", 10); err != nil {
		t.Fatalf("B's write: %v", err)
	}

	close(gate.release)
	var r result
	select {
	case r = <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("the held turn did not end")
	}
	if r.err == nil {
		t.Fatalf("A's held read was served (%v) after B claimed the object and wrote %v: two serving instances", r.got, b.entries(t, "lapse"))
	}
	if !errors.Is(r.err, object.ErrRetryable) {
		t.Fatalf("A's held read: %v, want ErrRetryable", r.err)
	}
	if got := b.entries(t, "lapse"); !slices.Equal(got, []int{1, 10}) {
		t.Fatalf("B has %v", got)
	}
}

// A renewal is not even sent once the lease's end passed: the lease is lost, and the
// next round registers a new incarnation, under which the node serves again.
func TestLapsedLeaseIsRegisteredAnew(t *testing.T) {
	n, clock := joinWithClock(t, sharedCluster(t), 1, "lapse-anew")
	pauseRenewals(n)
	ctx := testContext(t)
	old, _ := n.lease.current()
	rev := n.lease.rev
	clock.Advance(testLeaseTTL - testLeaseMargin)
	if err := n.lease.renew(ctx); !errors.Is(err, ErrLeaseExpired) {
		t.Fatalf("renewal after the lease's end: %v, want ErrLeaseExpired", err)
	}
	if _, r, _, err := n.a.nodes.get(ctx, "lapse-anew"); err != nil || r != rev {
		t.Fatalf("the key moved from revision %d to %d (%v): a renewal was sent after the lease's end", rev, r, err)
	}
	if err := n.renewOnce(ctx); err != nil {
		t.Fatal(err)
	}
	now, _ := n.lease.current()
	if now.Incarnation == old.Incarnation || !n.Serving() || n.lease.valid(old.Incarnation) {
		t.Fatalf("after the next round: incarnation %s (was %s), serving %v, old valid %v",
			now.Incarnation, old.Incarnation, n.Serving(), n.lease.valid(old.Incarnation))
	}
}

// A node that lost its lease and registered again claims its objects anew (a new
// epoch), and reuses its own file when nothing but the new EPOCH record was appended
// after what it had: a lapse while the nodes bucket elects a leader costs a claim and
// a fence per object, not a restore. The activation of the old incarnation stays
// refused.
func TestReclaimAfterLapseKeepsTheFile(t *testing.T) {
	n, clock := joinWithClock(t, sharedCluster(t), 2, "lapse-reclaim")
	pauseRenewals(n)
	ctx := testContext(t)
	old := activate(t, n, "lapse", "reclaim")
	for i := range 3 {
		workload(t, old.db, i, old.commit)
	}
	acked := tableDump(t, old.path)
	before, err := os.Stat(old.path)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, old.db, "BEGIN")
	mustExec(t, old.db, `INSERT INTO kv (k, v) VALUES (-1, 'refused')`)
	clock.Advance(testLeaseTTL)
	if err := n.renewOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := old.commit(func() error { t.Fatal("commit ran under a lapsed incarnation"); return nil }); !errors.Is(err, ErrLeaseExpired) {
		t.Fatalf("commit of the lapsed incarnation: %v, want ErrLeaseExpired", err)
	}
	mustExec(t, old.db, "ROLLBACK")
	epoch := old.obj.Epoch()
	old.close(t)

	obj, err := n.Open(ctx, "lapse", "reclaim", old.path)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if obj.Epoch() <= epoch {
		t.Fatalf("re-claimed at epoch %d, not above %d", obj.Epoch(), epoch)
	}
	after, err := os.Stat(old.path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Fatal("the file was restored although the log had nothing new for it")
	}
	if got := tableDump(t, old.path); !cmp.Equal(got, acked) {
		t.Fatalf("re-claimed file differs: %s", cmp.Diff(acked, got))
	}
	db := openObjectDB(t, old.path)
	workload(t, db, 3, func(commit func() error) error { return obj.Commit(ctx, commit) })
	if kinds := logRecords(t, n, "lapse", "reclaim"); bytes.Count(kinds, []byte{kindEpoch}) != 2 || kinds[len(kinds)-1] != kindFrames {
		t.Fatalf("log records %q", kinds)
	}
}
