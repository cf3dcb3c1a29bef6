package object

import (
	"context"
	"fmt"
	"slices"
)

// What package cluster calls on the runtime of its node (see Cluster).

// InvokeHere runs an RPC method that another node sent to this one, on the object of
// namespace with the given 64-hex-digit ID (and name, when it was addressed by one),
// and returns its JSON result once the turn committed. It never forwards the call:
// an object this node does not own fails with an *ElsewhereError.
func (rt *Runtime) InvokeHere(ctx context.Context, namespace, id, name string, named bool, method string, arg []byte) ([]byte, error) {
	c, err := rt.lookupNamespace(namespace)
	if err != nil {
		return nil, err
	}
	oid, err := c.keys.parse(id)
	if err != nil {
		return nil, err
	}
	if named {
		if c.keys.fromName(name).raw != oid.raw {
			return nil, fmt.Errorf("%w: name %q is not the object's", ErrInvalidID, name)
		}
		oid.name, oid.has = name, true
	}
	return c.invokeHere(ctx, oid, method, arg)
}

// Wake runs the due alarms and schedules of an object of a registered namespace (64
// hex digits) as a turn, whether or not its database is on this node's disk (the
// Placement restores it), and makes this node's wake index follow its alarms from
// then on. It is for a node that took over the objects of a dead one. A wake that
// finds nothing due does nothing but that.
func (rt *Runtime) Wake(namespace, id string) error {
	c, err := rt.lookupNamespace(namespace)
	if err != nil {
		return err
	}
	oid, err := c.keys.parse(id)
	if err != nil {
		return err
	}
	rt.wake.wake(wakeKey{namespace, oid.raw})
	return nil
}

// notInCluster refuses an operation that replaces or removes an object's file, in
// cluster mode: the file is a copy of the object's log there, and a change made
// behind the log's back would be lost on the next restore, or break it.
func (rt *Runtime) notInCluster(op string) error {
	if rt.cfg.Cluster != nil {
		return fmt.Errorf("%w: %s is not supported in cluster mode", ErrInvalidArgument, op)
	}
	return nil
}

// InRegion is a placement hint (Durable Objects' location hint): in cluster mode, an
// object of the namespace is activated on a node of region when a live node of that
// region exists, and anywhere otherwise. An object already owned stays where it is
// until its owner dies. A single process ignores it.
func InRegion(region string) Option { return func(c *nsCore) { c.region = region } }

// NamespaceRegion returns the InRegion hint of a registered namespace ("" for none).
func (rt *Runtime) NamespaceRegion(namespace string) string {
	c, err := rt.lookupNamespace(namespace)
	if err != nil {
		return ""
	}
	return c.region
}

// GetOption is an option of a stub (Namespace.Get, GetByName).
type GetOption func(*callHint)

// LocationHint is a placement hint for one object (Durable Objects' locationHint on
// get): in cluster mode, when a call through the stub activates the object and no
// live node owns it, it is activated on a node of region if a live one exists, and
// anywhere otherwise. A namespace's InRegion wins over it. An object already owned
// stays where it is until its owner dies, and a call through a stub without the
// hint activates it where placement prefers. A single process ignores it.
func LocationHint(region string) GetOption { return func(h *callHint) { h.region = region } }

// callHint is what a stub's options ask of the calls made through it.
type callHint struct{ region string }

type callRegionKey struct{}

// context returns ctx carrying the hint to the turn's event (see placementHint).
func (h callHint) context(ctx context.Context) context.Context {
	if h.region == "" {
		return ctx
	}
	return context.WithValue(ctx, callRegionKey{}, h.region)
}

// placementHint is the LocationHint a call's context carries, "" for none.
func placementHint(ctx context.Context) string {
	r, _ := ctx.Value(callRegionKey{}).(string)
	return r
}

type regionKey struct{}

// PreferredRegion returns the region asked for the object in a Placement's Acquire:
// its namespace's InRegion, else the LocationHint of the call that activates it; ""
// for none.
func PreferredRegion(ctx context.Context) string {
	r, _ := ctx.Value(regionKey{}).(string)
	return r
}

// placementContext is the context a Placement's Acquire gets for an object of c
// activated for a call hinting region ("" for none).
func (c *nsCore) placementContext(ctx context.Context, hint string) context.Context {
	if c.region != "" {
		hint = c.region
	}
	if hint == "" {
		return ctx
	}
	return context.WithValue(ctx, regionKey{}, hint)
}

type chainKey struct{}

// CallChain returns the objects ("namespace/ID") whose turns wait, possibly on other
// nodes, for the call being made with ctx: the chain a remote call arrived with
// (WithCallChain) and the calling object. A node sends it with an RPC, and the
// receiving node refuses with ErrDeadlock a call to an object in it, as one process
// refuses a call that would close a cycle.
func CallChain(ctx context.Context) []string {
	chain, _ := ctx.Value(chainKey{}).([]string)
	if e := callingEntity(ctx); e != nil {
		chain = append(slices.Clip(chain), e.ns.name+"/"+e.hexID())
	}
	return chain
}

// WithCallChain returns ctx carrying chain (CallChain on the calling node), for
// InvokeHere.
func WithCallChain(ctx context.Context, chain []string) context.Context {
	if len(chain) == 0 {
		return ctx
	}
	return context.WithValue(ctx, chainKey{}, chain)
}

// inCallChain reports whether the object is waiting, on another node, for the call
// ctx belongs to.
func inCallChain(ctx context.Context, ns string, id ID) bool {
	chain, _ := ctx.Value(chainKey{}).([]string)
	return len(chain) > 0 && slices.Contains(chain, ns+"/"+id.String())
}
