package cluster

import (
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
