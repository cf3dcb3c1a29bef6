package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sync/atomic"

	"github.com/warrenhq/warren/runtime/internal/clientaddr"
)

// Namespace is a class of objects of type T, registered once per runtime.
type Namespace[T any] struct {
	core *nsCore
}

// nsCore is the untyped part of a namespace, shared with the runtime.
type nsCore struct {
	rt        *Runtime
	name      string
	typ       reflect.Type // T
	keys      idKeys
	construct func(ctx context.Context, st *State) (any, error)
	// existingOnly: the network endpoints reach only objects that exist (ExistingOnly);
	// existingOnlyHTTP: HTTP requests do (ExistingOnlyHTTP).
	existingOnly, existingOnlyHTTP bool
	// byID: the network endpoints also address objects by ID (AddressableByID).
	byID bool

	// methods are the RPC methods listed with Methods, fixed at Register.
	methods map[string]rawMethod
	// optErr is the first error an Option found; Register returns it.
	optErr error
	// noAlarms, noSchedules: T has no Alarm, no OnSchedule handler, so SetAlarm and
	// Schedule fail at once instead of storing what could never fire.
	noAlarms, noSchedules bool
	// region is the placement hint of InRegion ("" for none).
	region string
}

// Register adds a namespace to rt. newT builds an object's instance; it runs inside
// a turn of its own before the object's first event after every activation, so it can
// load state and migrate its schema atomically. If it fails, the event fails and the
// next event tries again. Options configure the namespace: Methods lists its RPC
// methods, ExistingOnly and ExistingOnlyHTTP restrict what the network reaches.
// Register fails for a method of *T that looks like an event handler but would never
// be called: a handler's name with another signature, or a name one letter or only
// case away from one (OnClosed, Onmessage).
func Register[T any](rt *Runtime, name string, newT func(ctx context.Context, st *State) (*T, error), opts ...Option) (*Namespace[T], error) {
	ns := &nsCore{
		rt:   rt,
		name: name,
		typ:  reflect.TypeFor[T](),
		keys: newIDKeys(name),
		construct: func(ctx context.Context, st *State) (any, error) {
			t, err := newT(ctx, st)
			if err == nil && t == nil {
				err = fmt.Errorf("constructor returned nil")
			}
			return t, err
		},
		methods: map[string]rawMethod{},
	}
	for _, o := range opts {
		o(ns)
	}
	if err := checkHandlers(ns.typ); err != nil {
		ns.fail(err)
	}
	_, alarms := any((*T)(nil)).(AlarmHandler)
	_, schedules := any((*T)(nil)).(ScheduleHandler)
	ns.noAlarms, ns.noSchedules = !alarms, !schedules
	if ns.optErr != nil {
		return nil, fmt.Errorf("object: namespace %q: %w", name, ns.optErr)
	}
	if err := rt.register(ns); err != nil {
		return nil, err
	}
	return &Namespace[T]{core: ns}, nil
}

// Name returns the namespace's name.
func (ns *Namespace[T]) Name() string { return ns.core.name }

// IDFromName returns the ID for name: the same name gives the same ID in this
// namespace on every run, and a different ID in any other namespace. Any string is a
// valid name; names never reach the file system.
func (ns *Namespace[T]) IDFromName(name string) ID { return ns.core.keys.fromName(name) }

// NewUniqueID returns a new random ID.
func (ns *Namespace[T]) NewUniqueID() ID { return ns.core.keys.unique() }

// IDFromString parses 64 lowercase hex digits; it fails with ErrInvalidID for anything
// else, including an ID minted by another namespace.
func (ns *Namespace[T]) IDFromString(s string) (ID, error) { return ns.core.keys.parse(s) }

// Get returns a stub for id. It does nothing until a call is made through it.
func (ns *Namespace[T]) Get(id ID, opts ...GetOption) Stub[T] {
	s := Stub[T]{ns: ns, id: id}
	for _, o := range opts {
		o(&s.hint)
	}
	return s
}

// GetByName is Get(IDFromName(name), opts...).
func (ns *Namespace[T]) GetByName(name string, opts ...GetOption) Stub[T] {
	return ns.Get(ns.IDFromName(name), opts...)
}

// Stub is a cheap handle to one object.
type Stub[T any] struct {
	ns   *Namespace[T]
	id   ID
	hint callHint
}

// ID returns the object's ID.
func (s Stub[T]) ID() ID { return s.id }

// invoke runs method name with a JSON argument and returns its JSON result. It is the
// untyped form of Method.Call that a network transport uses. In cluster mode a call
// to an object another node owns is sent there.
func (c *nsCore) invoke(ctx context.Context, id ID, name string, arg []byte) ([]byte, error) {
	res, err := c.invokeHere(ctx, id, name, arg)
	var elsewhere *ElsewhereError
	if err != nil && c.rt.cfg.Cluster != nil && errors.As(err, &elsewhere) {
		return c.rt.cfg.Cluster.Invoke(ctx, elsewhere, c.name, id, name, arg)
	}
	return res, err
}

// invokeHere is invoke in this process only: an object owned elsewhere fails with an
// *ElsewhereError.
func (c *nsCore) invokeHere(ctx context.Context, id ID, name string, arg []byte) ([]byte, error) {
	m := c.methods[name]
	if m == nil {
		return nil, fmt.Errorf("%w: method %s.%s", ErrNotFound, c.name, name)
	}
	// The result travels through an atomic: a turn abandoned after its time limit may
	// still write it after this call has returned.
	var out atomic.Pointer[[]byte]
	err := c.do(ctx, id, func(ctx context.Context, inst any) error {
		res, err := m(ctx, inst, arg)
		out.Store(&res)
		return err
	})
	if err != nil {
		return nil, crossing(err)
	}
	return *out.Load(), nil
}

// do runs fn as a turn of the object and waits for it to commit.
func (c *nsCore) do(ctx context.Context, id ID, fn func(ctx context.Context, inst any) error) error {
	return c.doHolding(ctx, id, 0, "", fn)
}

// doHolding is do for a turn of client address addr ("" for none) whose closure holds
// bytes of the client's (see queue.go).
func (c *nsCore) doHolding(ctx context.Context, id ID, bytes int64, addr string, fn func(ctx context.Context, inst any) error) error {
	if id.IsZero() {
		return fmt.Errorf("%w: zero ID", ErrInvalidID)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if inCallChain(ctx, c.name, id) {
		return fmt.Errorf("%w: %s/%s waits on another node for this call", ErrDeadlock, c.name, id)
	}
	if caller := callingEntity(ctx); caller != nil {
		target := objectKey{c, id.raw}
		if !c.rt.waits.add(caller.key, target) {
			return fmt.Errorf("%w: %s/%s", ErrDeadlock, c.name, id)
		}
		defer c.rt.waits.remove(caller.key, target)
	}
	done := make(chan error, 1)
	ev := &event{ctx: ctx, run: fn, bytes: bytes, addr: addr, done: func(err error) { done <- err }}
	if err := c.rt.dispatch(c, id, ev); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// The turn may still run and commit; its result is dropped.
		return ctx.Err()
	}
}

// RunLocal runs fn as one turn of the object behind stub, in this process. It is for
// tests, tools and in-process glue: unlike Method.Call it shares memory with the caller
// and cannot cross machines. fn's error rolls the turn back.
func (ns *Namespace[T]) RunLocal(ctx context.Context, stub Stub[T], fn func(ctx context.Context, obj *T) error) error {
	return ns.core.do(stub.hint.context(ctx), stub.id, func(ctx context.Context, inst any) error { return fn(ctx, inst.(*T)) })
}

// MaxRequestBody bounds the body of an HTTP request delivered to an object.
const MaxRequestBody = 1 << 20

// ServeHTTP delivers r to the object behind stub as one turn, when T implements
// http.Handler; otherwise it answers 404 without touching the object. The object's
// response is buffered and written only after the turn's writes are durable; a failed
// turn answers 500 and a refused one 503 or 404. A body that the object's queue could
// not take (Config.MaxQueueBytes), or a request of a client address that has
// Config.MaxQueuePerAddress of them in the object already, is refused with 503 before
// its body is read, when its length is announced.
func (ns *Namespace[T]) ServeHTTP(w http.ResponseWriter, r *http.Request, stub Stub[T]) {
	if _, ok := any((*T)(nil)).(http.Handler); !ok {
		http.Error(w, fmt.Sprintf("%v: %s objects do not serve HTTP", ErrNotFound, ns.core.name), http.StatusNotFound)
		return
	}
	addr := clientaddr.Key(r.RemoteAddr)
	if err := ns.core.rt.canQueue(ns.core, stub.id, max(r.ContentLength, 0), addr); err != nil {
		code, msg := HTTPStatus(err)
		http.Error(w, msg, code)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	if err != nil {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	// The handler writes into rec inside the turn; what leaves the turn is a snapshot
	// taken when the handler has returned. The turn may outlive this request (its
	// client went away, or it was abandoned after its time limit), so rec itself is
	// never read out here.
	var snap atomic.Pointer[response]
	err = ns.core.doHolding(stub.hint.context(r.Context()), stub.id, int64(len(body)), addr, func(ctx context.Context, inst any) error {
		rec := &bufferedResponse{header: http.Header{}}
		req := r.Clone(ctx)
		req.Body = io.NopCloser(bytes.NewReader(body))
		inst.(http.Handler).ServeHTTP(rec, req)
		resp := rec.snapshot()
		snap.Store(resp)
		if resp.code >= 500 {
			return fmt.Errorf("object: handler answered %d", resp.code)
		}
		return nil
	})
	resp := snap.Load()
	if err != nil {
		code, msg := HTTPStatus(err)
		if resp != nil && resp.code >= 500 && len(resp.body) > 0 && code == http.StatusInternalServerError {
			msg = string(resp.body)
		}
		http.Error(w, msg, code)
		return
	}
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.code)
	w.Write(resp.body)
}

// response is an object's HTTP response as its turn left it.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// bufferedResponse is the http.ResponseWriter an object's handler writes to inside
// its turn: everything is kept in memory until the turn has committed.
type bufferedResponse struct {
	header      http.Header
	code        int
	wroteHeader bool
	body        bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.wroteHeader || code < 100 || code > 999 {
		return
	}
	if code >= 200 { // 1xx informational headers are not kept
		b.code, b.wroteHeader = code, true
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if !b.wroteHeader {
		b.WriteHeader(http.StatusOK)
	}
	return b.body.Write(p)
}

// snapshot is the response as it stands, detached from b. A handler that wrote no
// Content-Type gets the one net/http would sniff.
func (b *bufferedResponse) snapshot() *response {
	code := b.code
	if !b.wroteHeader {
		code = http.StatusOK
	}
	h := b.header.Clone()
	if _, ok := h["Content-Type"]; !ok && b.body.Len() > 0 {
		h.Set("Content-Type", http.DetectContentType(b.body.Bytes()))
	}
	return &response{code: code, header: h, body: bytes.Clone(b.body.Bytes())}
}
