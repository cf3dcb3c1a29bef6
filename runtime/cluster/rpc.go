package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/warrenhq/warren/runtime/object"
)

// RPC between objects on different nodes: a call to an object another node owns is
// a NATS request to that node's subject, answered once the turn committed there.
// Guarantees:
//
//   - The owner runs the call as a local call (object.Runtime.InvokeHere): the result
//     leaves only after the turn's commit was appended to the object's log.
//   - Errors keep their meaning across: an *object.Error arrives as an equal
//     *object.Error, and ErrRetryable, ErrOverloaded, ErrIndeterminate, ErrNotFound,
//     ErrTimeout, ... as errors that errors.Is matches.
//   - The receiving node re-checks ownership (activating the object claims it, or
//     fails with an *object.ElsewhereError naming the owner); the caller follows a
//     moved owner at most rpcHops times, then fails with ErrRetryable.
//   - A call that would close a cycle of calls across nodes (A's object calls B's,
//     which calls A's) fails with ErrDeadlock, as in one process: each call carries
//     the chain of objects waiting for it (object.CallChain).
//   - A call to an owner that is gone (nobody listens on its subject: nothing was
//     delivered) waits while the owner's lease lasts, then activates the object on
//     this node, which claims it from the dead owner (or names the node that did):
//     the call fails only when its context ends first. A node killed without leaving
//     holds its objects until its lease runs out, as for an HTTP request.
//   - A call whose request went unanswered (the owner died, the network failed
//     after the request was sent) fails with ErrIndeterminate: it may have run. One
//     whose owner's lease ends while it waits fails so at once (about a lease after
//     a kill), not when its context ends.

const (
	rpcSubjectPre = "warren.rpc." // + node name
	// rpcHops bounds the owners one call follows.
	rpcHops = 3
	// rpcDefaultTimeout bounds a call whose context has no deadline.
	rpcDefaultTimeout = 2 * time.Minute
	// maxRPCInFlight bounds the calls a node runs for other nodes at once.
	maxRPCInFlight = 4096
)

type rpcRequest struct {
	Namespace string `json:"ns"`
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Named     bool   `json:"named,omitempty"`
	Method    string `json:"method"`
	Arg       []byte `json:"arg"`
	// TimeoutMS is what was left of the caller's deadline when it sent the call.
	TimeoutMS int64 `json:"timeout_ms"`
	// Chain is object.CallChain of the caller: the objects waiting for this call.
	Chain []string `json:"chain,omitempty"`
	// Op, when set, is an operator's request rather than a method call
	// (opRestoreBookmark: Arg is the bookmark), sent through Hops nodes so far.
	Op   string `json:"op,omitempty"`
	Hops int    `json:"hops,omitempty"`
}

type rpcReply struct {
	Result []byte    `json:"result,omitempty"`
	Err    *rpcError `json:"err,omitempty"`
}

// rpcError is an error as it crosses nodes: its kind (which sentinel, or an
// application error) and its message.
type rpcError struct {
	Kind    string `json:"kind"`
	Message string `json:"msg"`
	Code    string `json:"code,omitempty"`   // kind "app"
	Status  int    `json:"status,omitempty"` // kind "app"
	Node    string `json:"node,omitempty"`   // kind "elsewhere"
	Addr    string `json:"addr,omitempty"`   // kind "elsewhere"
}

// sentinels are the errors that cross by kind.
var sentinels = []struct {
	kind string
	err  error
}{
	{"overloaded", object.ErrOverloaded},
	{"indeterminate", object.ErrIndeterminate},
	{"retryable", object.ErrRetryable},
	{"corrupt", object.ErrCorrupt},
	{"notfound", object.ErrNotFound},
	{"invalid_id", object.ErrInvalidID},
	{"invalid_name", object.ErrInvalidName},
	{"deadlock", object.ErrDeadlock},
	{"timeout", object.ErrTimeout},
	{"closed", object.ErrClosed},
	{"too_large", object.ErrTooLarge},
	{"invalid_argument", object.ErrInvalidArgument},
	{"deadline", context.DeadlineExceeded},
	{"canceled", context.Canceled},
}

func encodeRPCError(err error) *rpcError {
	if ae, ok := object.AsError(err); ok {
		return &rpcError{Kind: "app", Code: ae.Code, Message: ae.Message, Status: ae.Status}
	}
	var ee *object.ElsewhereError
	if errors.As(err, &ee) {
		return &rpcError{Kind: "elsewhere", Node: ee.Node, Addr: ee.Addr, Message: err.Error()}
	}
	var ae *object.ArgumentError
	if errors.As(err, &ae) {
		return &rpcError{Kind: "argument", Message: err.Error()}
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return &rpcError{Kind: s.kind, Message: err.Error()}
		}
	}
	return &rpcError{Kind: "internal", Message: err.Error()}
}

func (e *rpcError) decode() error {
	switch e.Kind {
	case "app":
		return &object.Error{Code: e.Code, Message: e.Message, Status: e.Status}
	case "elsewhere":
		return &object.ElsewhereError{Node: e.Node, Addr: e.Addr}
	case "argument":
		return &object.ArgumentError{Err: errors.New(e.Message)}
	}
	for _, s := range sentinels {
		if s.kind == e.Kind {
			return fmt.Errorf("%w (on another node: %s)", s.err, e.Message)
		}
	}
	return fmt.Errorf("cluster: call failed on another node: %s", e.Message)
}

// startRPC subscribes to this node's RPC subject.
func (h *host) startRPC() error {
	sem := make(chan struct{}, maxRPCInFlight)
	sub, err := h.n.js.Conn().Subscribe(rpcSubjectPre+h.n.cfg.Name, func(m *nats.Msg) {
		select {
		case sem <- struct{}{}:
		default:
			h.reply(m, nil, fmt.Errorf("%w: too many calls from other nodes", object.ErrOverloaded))
			return
		}
		go func() {
			defer func() { <-sem }()
			h.serveRPC(m)
		}()
	})
	if err != nil {
		return fmt.Errorf("cluster: subscribe to RPC: %w", err)
	}
	h.sub = sub
	return nil
}

// serveRPC runs one call another node sent.
func (h *host) serveRPC(m *nats.Msg) {
	var req rpcRequest
	if err := json.Unmarshal(m.Data, &req); err != nil {
		h.reply(m, nil, fmt.Errorf("%w: bad RPC request: %v", object.ErrRetryable, err))
		return
	}
	if !h.n.Serving() {
		h.reply(m, nil, fmt.Errorf("%w: %w", object.ErrRetryable, ErrLeaseExpired))
		return
	}
	timeout := time.Duration(req.TimeoutMS) * time.Millisecond
	if timeout <= 0 || timeout > rpcDefaultTimeout {
		timeout = rpcDefaultTimeout
	}
	ctx, cancel := context.WithTimeout(object.WithCallChain(context.Background(), req.Chain), timeout)
	defer cancel()
	if req.Op == opRestoreBookmark {
		res, err := h.serveRestore(ctx, req)
		h.reply(m, res, err)
		return
	}
	res, err := h.rt.InvokeHere(ctx, req.Namespace, req.ID, req.Name, req.Named, req.Method, req.Arg)
	h.reply(m, res, err)
}

func (h *host) reply(m *nats.Msg, res []byte, err error) {
	r := rpcReply{Result: res}
	if err != nil {
		r.Err = encodeRPCError(err)
	}
	b, merr := json.Marshal(r)
	if merr != nil {
		b, _ = json.Marshal(rpcReply{Err: encodeRPCError(merr)})
	}
	if err := m.Respond(b); err != nil {
		h.n.cfg.Logger.Warn("cluster: RPC reply", "err", err)
	}
}

// Invoke sends a call to the object's owner, following a moved owner.
func (h *host) Invoke(ctx context.Context, to *object.ElsewhereError, namespace string, id object.ID, method string, arg []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rpcDefaultTimeout)
		defer cancel()
	}
	name, named := id.Name()
	req := rpcRequest{Namespace: namespace, ID: id.String(), Name: name, Named: named, Method: method, Arg: arg,
		Chain: object.CallChain(ctx)}
	gone := 0 // owners found dead
	for hops := 0; hops < rpcHops; hops++ {
		if to.Node == h.n.cfg.Name { // the owner moved here
			res, err := h.rt.InvokeHere(ctx, namespace, req.ID, name, named, method, arg)
			if !errors.As(err, &to) {
				return res, err
			}
			continue
		}
		dl, _ := ctx.Deadline()
		req.TimeoutMS = time.Until(dl).Milliseconds()
		b, err := json.Marshal(req)
		if err != nil {
			return nil, err
		}
		m, err := h.request(ctx, to.Node, b)
		switch {
		case errors.Is(err, nats.ErrNoResponders) && gone < rpcHops:
			// The node is gone, its lease over, and nothing was run: activate the
			// object here, which claims it (or names who did). Not a hop: the
			// owner did not move, it died.
			to, hops, gone = h.n.elsewhere(h.n.cfg.Name, ""), hops-1, gone+1
			continue
		case errors.Is(err, nats.ErrNoResponders):
			return nil, fmt.Errorf("%w: node %s does not answer: %v", object.ErrRetryable, to.Node, err)
		case errors.Is(err, object.ErrRetryable): // never delivered
			return nil, err
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			return nil, fmt.Errorf("%w: call to node %s: %v", object.ErrIndeterminate, to.Node, err)
		}
		var rep rpcReply
		if err := json.Unmarshal(m.Data, &rep); err != nil {
			return nil, fmt.Errorf("%w: bad RPC reply from %s: %v", object.ErrIndeterminate, to.Node, err)
		}
		if rep.Err == nil {
			return rep.Result, nil
		}
		err = rep.Err.decode()
		if !errors.As(err, &to) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: %s/%s kept moving (last seen on %s)", object.ErrRetryable, namespace, id, to.Node)
}

// request sends one call to node's subject. "No responders" (nothing was delivered,
// so resending runs nothing twice) comes from a node that is not listening: one
// killed, whose objects are claimable only once its lease ran out, or one whose
// subscription has not reached this node's server yet (route interest travels on
// its own: under load, after its lease is already visible). Either way the request
// is sent again while the node's lease holds, read from the nodes bucket's leader;
// ErrNoResponders is returned once the node has no live lease (it is dead for
// certain). Only ctx bounds the wait: when it ends, the error is ErrRetryable (and
// ctx's).
func (h *host) request(ctx context.Context, node string, b []byte) (*nats.Msg, error) {
	wait := 10 * time.Millisecond
	for {
		m, err := h.requestWhileAlive(ctx, node, b)
		if !errors.Is(err, nats.ErrNoResponders) {
			return m, err
		}
		if mem, ok, rerr := lookupMember(ctx, h.n.a.nodes, node); rerr == nil && (!ok || !mem.alive()) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: node %s does not answer, and its lease holds: %w", object.ErrRetryable, node, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// errDiedDuringCall is requestWhileAlive's error for a call whose node's lease ended
// (or whose node registered again) before it answered.
var errDiedDuringCall = errors.New("its lease ended with the call unanswered (it may have run)")

// requestWhileAlive sends one request to node's subject and waits for its answer while
// the node lives: every LeaseTTL/4 of waiting, the node's lease is read from the nodes
// bucket's leader (beside the wait: an answer is never held up by a read), and once
// it is gone, tombstoned, or another incarnation's than at the first read, the call
// ends with errDiedDuringCall. A call delivered to a node that was then killed gets no
// answer ever; it used to wait out its context (2 minutes without a deadline), and now
// ends about a lease after the kill. A read that fails (the bucket's leader away)
// decides nothing: the call waits on.
func (h *host) requestWhileAlive(ctx context.Context, node string, b []byte) (*nats.Msg, error) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the request or the read still under way
	type answer struct {
		m   *nats.Msg
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		m, err := h.n.js.Conn().RequestWithContext(rctx, rpcSubjectPre+node, b)
		answered <- answer{m, err}
	}()
	type seen struct {
		mem member
		ok  bool
		err error
	}
	read := make(chan seen, 1)
	reading := false
	every := h.n.cfg.LeaseTTL / 4
	tick := time.NewTicker(every)
	defer tick.Stop()
	incarnation := "" // the node's, at the first read
	for {
		select {
		case a := <-answered:
			return a.m, a.err
		case <-tick.C:
			if !reading {
				reading = true
				go func() {
					lctx, lcancel := context.WithTimeout(rctx, every)
					defer lcancel()
					mem, ok, err := lookupMember(lctx, h.n.a.nodes, node)
					read <- seen{mem, ok, err}
				}()
			}
		case l := <-read:
			reading = false
			switch {
			case l.err != nil:
				continue
			case incarnation == "" && l.ok && l.mem.alive():
				incarnation = l.mem.Incarnation
				continue
			case l.ok && l.mem.alive() && l.mem.Incarnation == incarnation:
				continue
			}
			cancel()
			if a := <-answered; a.err == nil {
				return a.m, nil // the answer came as the lease ended
			}
			return nil, errDiedDuringCall
		}
	}
}
