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

// Get returns the current value.
func (c *Counter) Get(ctx context.Context, _ struct{}) (int64, error) { return c.value, nil }

func Example() {
	dir, _ := os.MkdirTemp("", "warren-example")
	defer os.RemoveAll(dir)

	rt, err := object.New(object.Config{DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()

	counters, err := object.Register(rt, "counter", NewCounter)
	if err != nil {
		log.Fatal(err)
	}
	increment := object.Method(counters, "increment", (*Counter).Increment)

	ctx := context.Background()
	stub := counters.GetByName("visits")
	for range 3 {
		if _, err := increment.Call(ctx, stub, 1); err != nil {
			log.Fatal(err)
		}
	}
	n, err := increment.Call(ctx, stub, 10)
	fmt.Println(n, err)
	// Output: 13 <nil>
}
