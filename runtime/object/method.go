package object

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
)

// An RPC method is declared once, at package level, next to the type it belongs to:
//
//	var increment = object.NewMethod("increment", (*Counter).Increment)
//
// and listed when its namespace is registered:
//
//	counters, err := object.Register(rt, "counter", NewCounter, object.Methods(increment))
//
// A call goes to the namespace of the stub it is given: increment.Call(ctx, stub, 1).
// Arguments and results are JSON-encoded across the call, so they must be
// serializable: the caller and the object never share memory, and a call may cross
// processes.

// Method is an RPC method of objects of type T, taking an A and returning an R. Make
// one with NewMethod; its zero value is not usable.
type Method[T, A, R any] struct {
	name string
	fn   func(obj *T, ctx context.Context, arg A) (R, error)
}

// NewMethod declares fn as the RPC method name of type T. It panics if name is
// outside [a-z][a-z0-9_-]{0,62} or fn is nil (a programming error, found when the
// package is initialized).
func NewMethod[T, A, R any](name string, fn func(obj *T, ctx context.Context, arg A) (R, error)) *Method[T, A, R] {
	mustMethod(name, fn == nil)
	return &Method[T, A, R]{name: name, fn: fn}
}

// Name returns the method's name.
func (m *Method[T, A, R]) Name() string { return m.name }

// Call invokes the method on the object behind stub, in the stub's namespace, and
// waits for its result, which is delivered only after the turn's writes are durable.
// It fails with ErrNotFound if that namespace did not list the method at Register. An
// error returned by the method reaches the caller: an *Error as an equal *Error (the
// turn commits unless it asked for a rollback), any other error rolls the turn back.
func (m *Method[T, A, R]) Call(ctx context.Context, stub Stub[T], arg A) (R, error) {
	var res R
	raw, err := json.Marshal(arg)
	if err != nil {
		return res, fmt.Errorf("object: encode argument of %s: %w", m.name, err)
	}
	out, err := stub.ns.core.invoke(stub.hint.context(ctx), stub.id, m.name, raw)
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return res, fmt.Errorf("object: decode result of %s: %w", m.name, err)
	}
	return res, nil
}

func (m *Method[T, A, R]) rpc() rpcMethod {
	return rpcMethod{name: m.name, recv: reflect.TypeFor[T](), handle: func(ctx context.Context, inst any, raw []byte) ([]byte, error) {
		var arg A
		if err := json.Unmarshal(raw, &arg); err != nil {
			return nil, &ArgumentError{Method: m.name, Err: err}
		}
		res, err := m.fn(inst.(*T), ctx, arg)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(res)
		if err != nil {
			return nil, fmt.Errorf("object: encode result of %s: %w", m.name, err)
		}
		return b, nil
	}}
}

// MethodNoArg is an RPC method of objects of type T that takes no argument and
// returns an R. Make one with NewMethodNoArg.
type MethodNoArg[T, R any] struct{ m *Method[T, struct{}, R] }

// NewMethodNoArg declares fn, which takes no argument, as the RPC method name of
// type T. It panics as NewMethod does.
func NewMethodNoArg[T, R any](name string, fn func(obj *T, ctx context.Context) (R, error)) *MethodNoArg[T, R] {
	mustMethod(name, fn == nil)
	return &MethodNoArg[T, R]{m: &Method[T, struct{}, R]{name: name, fn: func(obj *T, ctx context.Context, _ struct{}) (R, error) {
		return fn(obj, ctx)
	}}}
}

// Name returns the method's name.
func (m *MethodNoArg[T, R]) Name() string { return m.m.name }

// Call invokes the method on the object behind stub, as Method.Call does.
func (m *MethodNoArg[T, R]) Call(ctx context.Context, stub Stub[T]) (R, error) {
	return m.m.Call(ctx, stub, struct{}{})
}

func (m *MethodNoArg[T, R]) rpc() rpcMethod { return m.m.rpc() }

// MethodNoResult is an RPC method of objects of type T that takes an A and returns
// only an error. Make one with NewMethodNoResult.
type MethodNoResult[T, A any] struct{ m *Method[T, A, struct{}] }

// NewMethodNoResult declares fn, which returns only an error, as the RPC method name
// of type T. It panics as NewMethod does.
func NewMethodNoResult[T, A any](name string, fn func(obj *T, ctx context.Context, arg A) error) *MethodNoResult[T, A] {
	mustMethod(name, fn == nil)
	return &MethodNoResult[T, A]{m: &Method[T, A, struct{}]{name: name, fn: func(obj *T, ctx context.Context, arg A) (struct{}, error) {
		return struct{}{}, fn(obj, ctx, arg)
	}}}
}

// Name returns the method's name.
func (m *MethodNoResult[T, A]) Name() string { return m.m.name }

// Call invokes the method on the object behind stub, as Method.Call does.
func (m *MethodNoResult[T, A]) Call(ctx context.Context, stub Stub[T], arg A) error {
	_, err := m.m.Call(ctx, stub, arg)
	return err
}

func (m *MethodNoResult[T, A]) rpc() rpcMethod { return m.m.rpc() }

// RPC is a method made by NewMethod, NewMethodNoArg or NewMethodNoResult, as
// Methods takes it.
type RPC interface {
	Name() string
	rpc() rpcMethod
}

// rpcMethod is a method as a namespace holds it: untyped, JSON in and out.
type rpcMethod struct {
	name   string
	recv   reflect.Type // T, checked against the namespace's type at Register
	handle rawMethod
}

// rawMethod runs a method on an instance with a JSON argument and returns its JSON
// result.
type rawMethod func(ctx context.Context, inst any, arg []byte) ([]byte, error)

// Methods lists the namespace's RPC methods. Register fails if a method belongs to
// another type than the namespace's or two methods share a name.
func Methods(ms ...RPC) Option {
	return func(c *nsCore) {
		for _, m := range ms {
			if m == nil {
				c.fail(fmt.Errorf("nil method"))
				continue
			}
			r := m.rpc()
			if r.recv != c.typ {
				c.fail(fmt.Errorf("method %s belongs to %v, not %v", r.name, r.recv, c.typ))
				continue
			}
			if _, dup := c.methods[r.name]; dup {
				c.fail(fmt.Errorf("method %s listed twice", r.name))
				continue
			}
			c.methods[r.name] = r.handle
		}
	}
}

// fail records the first error an Option found.
func (c *nsCore) fail(err error) {
	if c.optErr == nil {
		c.optErr = err
	}
}

// mustMethod panics on a method declaration that cannot work.
func mustMethod(name string, nilFn bool) {
	if !nameRE.MatchString(name) {
		panic(fmt.Sprintf("%v: method %q", ErrInvalidName, name))
	}
	if nilFn {
		panic("object: method " + name + " has a nil function")
	}
}

// ArgumentError reports an RPC argument that could not be decoded.
type ArgumentError struct {
	Method string
	Err    error
}

func (e *ArgumentError) Error() string {
	return "object: bad argument to " + e.Method + ": " + e.Err.Error()
}
func (e *ArgumentError) Unwrap() error { return e.Err }
