package cluster

import (
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
