package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
)

// The member cache is a hint: a node whose lease ran out can linger there (its
// key's expiry is a marker event a watch can miss, e.g. across a change of the
// bucket's leader). Locate must not route the objects placement prefers on such a
// node to it for good: it checks the node's key, tombstones it and chooses again.
func TestLocateSkipsAStaleCachedNode(t *testing.T) {
	c := sharedCluster(t)
	a := startRuntime(t, c, 0, testConfig("locate-a"))
	a.n.members.mu.Lock()
	a.n.members.members["locate-ghost"] = member{Incarnation: "gone", Addr: "ghost.test:80"}
	a.n.members.mu.Unlock()
	var id object.ID
	for i := 0; ; i++ {
		id = a.ns.IDFromName(fmt.Sprintf("obj-%d", i))
		if preferredNode(objectKey("ledger", id.String()), a.n.members.live()) == "locate-ghost" {
			break
		}
	}
	var el *object.ElsewhereError
	err := a.n.Locate(testContext(t), "ledger", id)
	if errors.As(err, &el) && el.Node == "locate-ghost" {
		t.Fatalf("Locate routes to a node with no lease: %v", err)
	}
	if err != nil && !errors.As(err, &el) {
		t.Fatal(err)
	}
	waitFor(t, testLeaseTTL, "the tombstone to reach the cache", func() bool {
		_, ok := a.n.members.get("locate-ghost")
		return !ok
	})
}

// A claim left by an earlier incarnation of a live node (it was killed and restarted,
// or paused past its lease, while it owned the object) is served by that node, which
// claims the object anew. Before, every other node routed the object to the claim's
// node, which routed it on by placement: 421 after 421, the object unreachable
// through every node for good (found by the cluster chaos harness).
func TestLocateServesAClaimOfAnEarlierIncarnation(t *testing.T) {
	c := sharedCluster(t)
	ctx := testContext(t)
	a := startRuntime(t, c, 0, testConfig("stale-a"))
	b := startRuntime(t, c, 1, testConfig("stale-b"))
	live := append(a.n.members.live(), a.n.Name())
	var name, key string
	for i := 0; ; i++ {
		name = fmt.Sprintf("stale-%d", i)
		key = objectKey("ledger", a.ns.IDFromName(name).String())
		if preferredNode(key, live) != a.n.Name() {
			break
		}
	}
	stale, err := json.Marshal(Claim{Node: a.n.Name(), Incarnation: "an-earlier-incarnation"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.n.a.owners.create(ctx, key, stale); err != nil {
		t.Fatal(err)
	}
	id := a.ns.IDFromName(name)
	if err := a.n.Locate(ctx, "ledger", id); err != nil {
		t.Fatalf("Locate on the claim's node: %v, want nil (serve here)", err)
	}
	var el *object.ElsewhereError
	if err := b.n.Locate(ctx, "ledger", id); !errors.As(err, &el) || el.Node != a.n.Name() {
		t.Fatalf("Locate on another node: %v, want the claim's node %s", err, a.n.Name())
	}
	if _, err := a.add(ctx, name, 1); err != nil {
		t.Fatalf("a turn on the claim's node: %v", err)
	}
	cur, _, err := readClaim(ctx, a.n.a.owners, key)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := a.n.lease.current()
	if cur.Node != a.n.Name() || cur.Incarnation != self.Incarnation {
		t.Fatalf("claim after the turn: %+v, want %s's current incarnation %s", cur, a.n.Name(), self.Incarnation)
	}
}
