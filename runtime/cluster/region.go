package cluster

import (
	"context"
	"slices"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// placeByRegion returns where an object whose namespace asks for region should be
// activated instead of here: nil when here is right (region is "" or this node's, no
// live node of region is known, or this node already owns the object), the owner
// when another live node owns it (ownership is sticky), else the node of region a
// rendezvous hash prefers. The claim itself is made by Open on that node.
func (n *Node) placeByRegion(ctx context.Context, namespace, id, region string) (*object.ElsewhereError, error) {
	if region == "" || region == n.cfg.Region {
		return nil, nil
	}
	inRegion := n.liveIn(region)
	if len(inRegion) == 0 {
		return nil, nil
	}
	key := objectKey(namespace, id)
	cur, rev, err := readClaim(ctx, n.a.owners, key)
	if err != nil {
		return nil, err
	}
	if rev != 0 {
		if cur.Node == n.cfg.Name {
			return nil, nil
		}
		if m, ok := n.members.get(cur.Node); ok && m.Incarnation == cur.Incarnation {
			return n.elsewhere(cur.Node, m.Addr), nil
		}
	}
	return n.elsewhere(preferredNode(key, inRegion), ""), nil
}

// liveIn returns the nodes of region the member cache lists alive.
func (n *Node) liveIn(region string) []string {
	var in []string
	for _, name := range n.members.live() {
		if m, ok := n.members.get(name); ok && m.Region == region {
			in = append(in, name)
		}
	}
	return in
}

// Locate tells an entry node where to serve an object: nil to serve it here (this
// node, or an earlier incarnation of it, owns it, or no live node does and this is the node placement prefers: by the
// namespace's region hint, then by rendezvous hash), an *object.ElsewhereError naming
// the node to route to, or another error when it cannot tell (the cluster is
// unreachable, this node's lease lapsed: ErrLeaseExpired). It reads the claim and the
// owner's lease from the buckets' leaders on every call (no cache), so a retry after
// a 421 sees the newest owner. Activating the object (Acquire) decides for certain:
// it claims, or refuses with an ElsewhereError.
func (n *Node) Locate(ctx context.Context, namespace string, id object.ID) (err error) {
	start := time.Now()
	defer func() {
		if d := time.Since(start); d > slowActivation/2 {
			n.cfg.Logger.Warn("cluster: slow locate", "key", objectKey(namespace, id.String())[:8], "took", d.Round(time.Millisecond), "err", err)
		}
	}()
	if !n.Serving() {
		return ErrLeaseExpired
	}
	key := objectKey(namespace, id.String())
	cur, rev, err := readClaim(ctx, n.a.owners, key)
	if err != nil {
		return err
	}
	if rev != 0 {
		if cur.Node == n.cfg.Name {
			// This node's claim, or one of an earlier incarnation of it (dead for
			// certain: a node registers again only after its lease ran out, after a
			// kill or a pause): serve here, where Open claims it anew. Every other
			// node routes the object here by the claim's name, so routing it on by
			// placement would loop (421 after 421) until a restart of the claim.
			return nil
		}
		m, ok, err := lookupMember(ctx, n.a.nodes, cur.Node)
		if err != nil {
			return err
		}
		if ok && m.alive() {
			return n.elsewhere(cur.Node, m.Addr)
		}
	}
	// Unowned, or its owner is dead: where placement prefers.
	if to, err := n.placeByRegion(ctx, namespace, id.String(), n.namespaceRegion(namespace)); err != nil || to != nil {
		if to != nil {
			return to
		}
		return err
	}
	live := n.members.live()
	if region := n.namespaceRegion(namespace); region != "" && region == n.cfg.Region {
		live = n.liveIn(region)
	}
	if !slices.Contains(live, n.cfg.Name) {
		live = append(live, n.cfg.Name)
	}
	return n.preferLive(ctx, key, live)
}

// preferLive returns where placement prefers key among live (nil: this node), after
// checking that node's lease on the bucket's leader. The member cache is a hint:
// a lease that ran out (a node killed without leaving) expires its key without an
// event to the watch, so a dead node can stay in the cache, and every node would
// route the object to it for good. A node found expired is tombstoned (which
// every cache sees) and placement chooses again without it.
func (n *Node) preferLive(ctx context.Context, key string, live []string) error {
	for range len(live) {
		p := preferredNode(key, live)
		if p == n.cfg.Name {
			return nil
		}
		m, ok, err := lookupMember(ctx, n.a.nodes, p)
		if err != nil {
			return err
		}
		if ok && m.alive() {
			return n.elsewhere(p, m.Addr)
		}
		if !ok {
			if _, err := tombstone(ctx, n.a.nodes, p, n.cfg.Name); err != nil {
				return err
			}
		}
		live = slices.DeleteFunc(live, func(s string) bool { return s == p })
	}
	return nil
}

// namespaceRegion is the region hint of a namespace of the attached runtime.
func (n *Node) namespaceRegion(namespace string) string {
	n.mu.Lock()
	h := n.host
	n.mu.Unlock()
	if h == nil {
		return ""
	}
	h.mu.Lock()
	rt := h.rt
	h.mu.Unlock()
	if rt == nil {
		return ""
	}
	return rt.NamespaceRegion(namespace)
}
