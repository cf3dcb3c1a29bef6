package object_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/warrenhq/warren/runtime/object"
)

// Counter is the seed's Counter example in Go: one object per name, its value kept
// in the object's own storage.
type Counter struct {
	st    *object.State
	value int64
}

// NewCounter loads the value before the first event arrives.
func NewCounter(ctx context.Context, st *object.State) (*Counter, error) {
	v, _, err := object.GetJSON[int64](st.Storage(), "value")
	return &Counter{st: st, value: v}, err
}

// Increment adds by to the counter and returns the new value. The caller receives
// the value only once it is durable.
func (c *Counter) Increment(ctx context.Context, by int64) (int64, error) {
	c.value += by
	return c.value, object.PutJSON(c.st.Storage(), "value", c.value)
}

// Decrement subtracts by from the counter and returns the new value.
func (c *Counter) Decrement(ctx context.Context, by int64) (int64, error) {
	return c.Increment(ctx, -by)
}

// Get returns the current value.
func (c *Counter) Get(ctx context.Context) (int64, error) { return c.value, nil }

// The Counter's RPC methods, listed when the namespace is registered.
var (
	increment = object.NewMethod("increment", (*Counter).Increment)
	decrement = object.NewMethod("decrement", (*Counter).Decrement)
	get       = object.NewMethodNoArg("get", (*Counter).Get)
)

// CounterStub is a typed client: a stub whose methods read like the object's own.
type CounterStub struct{ object.Stub[Counter] }

// Increment adds by to the counter behind the stub and returns the new value.
func (c CounterStub) Increment(ctx context.Context, by int64) (int64, error) {
	return increment.Call(ctx, c.Stub, by)
}

// Decrement subtracts by from the counter behind the stub and returns the new value.
func (c CounterStub) Decrement(ctx context.Context, by int64) (int64, error) {
	return decrement.Call(ctx, c.Stub, by)
}

// Get returns the counter's value.
func (c CounterStub) Get(ctx context.Context) (int64, error) { return get.Call(ctx, c.Stub) }

func Example() {
	dir, _ := os.MkdirTemp("", "warren-example")
	defer os.RemoveAll(dir)

	rt, err := object.New(object.Config{DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()

	counters, err := object.Register(rt, "counter", NewCounter, object.Methods(increment, decrement, get))
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	counter := CounterStub{counters.GetByName("visits")}
	for range 3 {
		if _, err := counter.Increment(ctx, 1); err != nil {
			log.Fatal(err)
		}
	}
	n, err := counter.Decrement(ctx, 1)
	fmt.Println(n, err)
	// Output: 2 <nil>
}
