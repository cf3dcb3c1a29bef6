package object_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Abacus is an object with a no-argument and a no-result method.
type Abacus struct {
	st *object.State
	n  int
}

func (t *Abacus) Add(ctx context.Context, by int) error {
	t.n += by
	return object.PutJSON(t.st.Storage(), "n", t.n)
}

func (t *Abacus) Total(ctx context.Context) (int, error) { return t.n, nil }

var (
	addAbacus   = object.NewMethodNoResult("add", (*Abacus).Add)
	abacusTotal = object.NewMethodNoArg("total", (*Abacus).Total)
)

func newAbacus(ctx context.Context, st *object.State) (*Abacus, error) {
	n, _, err := object.GetJSON[int](st.Storage(), "n")
	return &Abacus{st: st, n: n}, err
}

// TestMethodRoutedByStub pins issue 15 (RPC): Func.Call routed through the handle's
// namespace and ignored the stub's. Now a method declared once at package level runs
// in the namespace of the stub it is given, and only where that namespace listed it.
func TestMethodRoutedByStub(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	left, err := object.Register(rt.Runtime, "left", newAbacus, object.Methods(addAbacus, abacusTotal))
	if err != nil {
		t.Fatal(err)
	}
	right, err := object.Register(rt.Runtime, "right", newAbacus, object.Methods(addAbacus, abacusTotal))
	if err != nil {
		t.Fatal(err)
	}
	bare, err := object.Register(rt.Runtime, "bare", newAbacus)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := addAbacus.Call(ctx, left.GetByName("x"), 2); err != nil {
		t.Fatal(err)
	}
	if err := addAbacus.Call(ctx, right.GetByName("x"), 5); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		stub object.Stub[Abacus]
		ns   string
		want int
	}{{left.GetByName("x"), "left", 2}, {right.GetByName("x"), "right", 5}} {
		if got, err := abacusTotal.Call(ctx, c.stub); err != nil || got != c.want {
			t.Errorf("%s total = %d, %v; want %d", c.ns, got, err, c.want)
		}
		if got := rt.KV(t, c.ns, c.stub.ID())["n"]; got != string(rune('0'+c.want)) {
			t.Errorf("%s stored n = %q, want %d", c.ns, got, c.want)
		}
	}
	if err := addAbacus.Call(ctx, bare.GetByName("x"), 1); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("a method the namespace did not list: %v, want ErrNotFound", err)
	}
}

// Other is a type whose methods no Abacus namespace may list.
type Other struct{}

// TestMethodsCheckedAtRegister pins issue 15 (RPC): a method of another type, or two
// methods with one name, fail Register instead of misbehaving at call time.
func TestMethodsCheckedAtRegister(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	otherPing := object.NewMethodNoArg("ping", func(*Other, context.Context) (bool, error) { return true, nil })
	if _, err := object.Register(rt.Runtime, "wrong-type", newAbacus, object.Methods(otherPing)); err == nil || !strings.Contains(err.Error(), "belongs to") {
		t.Errorf("a method of another type: %v", err)
	}
	again := object.NewMethodNoArg("total", (*Abacus).Total)
	if _, err := object.Register(rt.Runtime, "twice", newAbacus, object.Methods(abacusTotal, again)); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("two methods named total: %v", err)
	}
	// A failed Register leaves the name free.
	if _, err := object.Register(rt.Runtime, "twice", newAbacus, object.Methods(abacusTotal)); err != nil {
		t.Errorf("registering after a refused Register: %v", err)
	}
}

func TestNewMethodPanicsOnBadName(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a method named Bad Name")
		}
	}()
	object.NewMethodNoArg("Bad Name", (*Abacus).Total)
}
