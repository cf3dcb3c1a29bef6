package guide_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"sync"

	"github.com/warrenhq/warren/runtime/object"
)

// Counter is one durable counter. Its fields are the object's in-memory state:
// only the object's own turns touch them, one at a time, so they need no lock.
type Counter struct {
	st    *object.State
	value int64
}

// NewCounter is the constructor: it runs in a turn of its own before the first
// event after every activation, so it is where state is loaded (and schemas migrated).
func NewCounter(ctx context.Context, st *object.State) (*Counter, error) {
	v, _, err := object.GetJSON[int64](st.Storage(), "value")
	return &Counter{st: st, value: v}, err
}

// Add is an RPC method: it runs as one turn and its result reaches the caller only
// once the write is durable.
func (c *Counter) Add(ctx context.Context, by int64) (int64, error) {
	if by < 0 { // refused: an application error, the turn and the instance are kept
		return 0, object.NewError("negative", "counter: negative increment")
	}
	c.value += by
	return c.value, object.PutJSON(c.st.Storage(), "value", c.value)
}

// Get returns the value.
func (c *Counter) Get(ctx context.Context) (int64, error) { return c.value, nil }

// The RPC methods are declared once, next to the type, and listed at Register. A
// method that takes no argument is a NewMethodNoArg; one with no result, a
// NewMethodNoResult.
var (
	add = object.NewMethod("add", (*Counter).Add)
	get = object.NewMethodNoArg("get", (*Counter).Get)
)

// CounterStub is the hand-written typed client: callers write counter.Add(ctx, 1).
type CounterStub struct{ object.Stub[Counter] }

func (c CounterStub) Add(ctx context.Context, by int64) (int64, error) {
	return add.Call(ctx, c.Stub, by)
}
func (c CounterStub) Get(ctx context.Context) (int64, error) { return get.Call(ctx, c.Stub) }

// An object is addressed by a stub; the first call activates it. Turns are serialised
// per object, so 100 concurrent callers never lose an update. Closing the runtime and
// opening a new one on the same directory is what a process restart does: the value
// comes back from storage.
func Example_objects() {
	dir, _ := os.MkdirTemp("", "warren-guide")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	start := func() (*object.Runtime, *object.Namespace[Counter]) {
		rt, err := object.New(object.Config{DataDir: dir})
		if err != nil {
			log.Fatal(err)
		}
		ns, err := object.Register(rt, "counter", NewCounter, object.Methods(add, get))
		if err != nil {
			log.Fatal(err)
		}
		return rt, ns
	}

	rt, counters := start()
	visits := CounterStub{counters.GetByName("visits")} // getting a stub does nothing
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if _, err := visits.Add(ctx, 1); err != nil {
				log.Fatal(err)
			}
		})
	}
	wg.Wait()
	name, _ := visits.ID().Name()
	fmt.Println("object", name, "id length", len(visits.ID().String()))
	rt.Close()

	rt, counters = start() // a "restart"
	defer rt.Close()
	visits = CounterStub{counters.GetByName("visits")}
	n, err := visits.Get(ctx)
	fmt.Println("after restart:", n, err)
	_, err = visits.Add(ctx, -1)
	fmt.Println("user error:", err)
	// Output:
	// object visits id length 64
	// after restart: 100 <nil>
	// user error: negative: counter: negative increment
}
