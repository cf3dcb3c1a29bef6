package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// Eight nodes, spread over the three servers, open the same object at once: exactly
// one wins, the seven others are told who owns it.
func TestClaimRaceHasOneWinner(t *testing.T) {
	c := sharedCluster(t)
	ctx := testContext(t)
	const claimants = 8
	nodes := make([]*Node, claimants)
	for i := range nodes {
		nodes[i] = join(t, c, i, testConfig(fmt.Sprintf("racer%d", i)))
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	objs := make([]*Object, claimants)
	errs := make([]error, claimants)
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			objs[i], errs[i] = n.Open(ctx, "race", "contested", filepath.Join(t.TempDir(), "obj.sqlite"))
		}()
	}
	close(start)
	wg.Wait()
	var winner *Object
	for i, err := range errs {
		if err == nil {
			if winner != nil {
				t.Fatalf("two winners: %s and %s", winner.claim.Node, objs[i].claim.Node)
			}
			winner = objs[i]
		}
	}
	if winner == nil {
		t.Fatalf("no winner: %v", errs)
	}
	defer winner.Close()
	for i, err := range errs {
		var owned *OwnedError
		if objs[i] == winner {
			continue
		}
		if !errors.As(err, &owned) || owned.Owner.Node != winner.claim.Node || owned.Addr != winner.claim.Node+".test:80" {
			t.Fatalf("loser %d: %v, want an OwnedError naming %s", i, err, winner.claim.Node)
		}
	}
	// Sticky: the winner opening it again keeps its claim and epoch.
	winner.Close()
	again, err := winner.n.Open(ctx, "race", "contested", winner.path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.Epoch() != winner.Epoch() {
		t.Fatalf("epoch moved from %d to %d on re-activation by the owner", winner.Epoch(), again.Epoch())
	}
}

// The rendezvous hash is the same on every node for the same list, spreads keys, and
// moves only the removed node's keys when a node leaves.
func TestPreferredNodeRendezvous(t *testing.T) {
	nodes := []string{"a", "b", "c", "d"}
	count := map[string]int{}
	moved := 0
	for i := range 4000 {
		key := objectKey("ns", fmt.Sprint(i))
		p := preferredNode(key, nodes)
		if p != preferredNode(key, []string{"d", "c", "b", "a"}) {
			t.Fatal("answer depends on the list's order")
		}
		count[p]++
		q := preferredNode(key, []string{"a", "b", "d"})
		if p != "c" && q != p {
			moved++
		}
	}
	if moved != 0 {
		t.Fatalf("%d keys not on the removed node moved", moved)
	}
	for _, n := range nodes {
		if count[n] < 800 || count[n] > 1200 {
			t.Fatalf("uneven spread: %v", count)
		}
	}
	if preferredNode("k", nil) != "" {
		t.Fatal("no nodes, still a preference")
	}
}

// A claimant that finds the owner's key holding a tombstone decides it is dead by a
// write, not by that read: it rewrites the tombstone by compare-and-set on the
// revision it read (the key's revision moves). A read can be stale (answered by a
// replaced stream leader that does not know it yet) and show a tombstone that a
// registration has since replaced; the write cannot succeed then, and the owner is
// found alive.
func TestTombstoneIsConfirmedByAWrite(t *testing.T) {
	n := join(t, sharedCluster(t), 0, testConfig("tomb-claimant"))
	ctx := testContext(t)
	put := func(m member) uint64 {
		t.Helper()
		val, _ := json.Marshal(m)
		rev, err := n.a.nodes.Put(ctx, "tomb-owner", val)
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	rev := put(member{DeadBy: "someone"})
	dead, _, err := ownerDead(ctx, n.a.nodes, Claim{Node: "tomb-owner", Incarnation: "i1"}, "tomb-claimant")
	if err != nil || !dead {
		t.Fatalf("owner with a tombstone: dead=%v err=%v, want dead", dead, err)
	}
	if _, now, _, err := n.a.nodes.get(ctx, "tomb-owner"); err != nil || now == rev {
		t.Fatalf("the tombstone's revision is still %d (now %d, %v): the death was decided by a read", rev, now, err)
	}

	put(member{Incarnation: "i2", Addr: "tomb-owner.test:80"}) // registered again
	dead, owner, err := ownerDead(ctx, n.a.nodes, Claim{Node: "tomb-owner", Incarnation: "i1"}, "tomb-claimant")
	if err != nil || dead || owner.Addr != "tomb-owner.test:80" {
		t.Fatalf("owner registered again: dead=%v owner=%+v err=%v, want alive", dead, owner, err)
	}
	if err := n.a.nodes.Purge(ctx, "tomb-owner"); err != nil {
		t.Fatal(err)
	}
}
