package object_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// sharedPlacement is the exclusion cluster mode gives: one owner per object among
// the processes (here, runtimes) that share it. Acquire by an owner fails while
// another owner holds the object.
type sharedPlacement struct {
	mu     sync.Mutex
	owners map[string]string // object -> owner holding it
}

var errOwnedElsewhere = errors.New("owned by another process")

// owner returns the Placement of one process.
func (p *sharedPlacement) owner(name string) object.Placement { return ownerPlacement{p, name} }

func (p *sharedPlacement) holder(ns string, id object.ID) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.owners[ns+"/"+id.String()]
}

type ownerPlacement struct {
	p    *sharedPlacement
	name string
}

func (o ownerPlacement) Acquire(_ context.Context, ns string, id object.ID) (func(), error) {
	k := ns + "/" + id.String()
	o.p.mu.Lock()
	defer o.p.mu.Unlock()
	if o.p.owners == nil {
		o.p.owners = map[string]string{}
	}
	if cur, ok := o.p.owners[k]; ok && cur != o.name {
		return nil, fmt.Errorf("%s: %w (%s)", k, errOwnedElsewhere, cur)
	}
	o.p.owners[k] = o.name
	return func() {
		o.p.mu.Lock()
		delete(o.p.owners, k)
		o.p.mu.Unlock()
	}, nil
}

// TestOperatorHoldsAcquirePlacement pins the gap left by issue 18's first pass: an
// operator's hold (delete, restore, a SQL console write) closed the object's database,
// which released its Placement, and then changed the file without acquiring it
// again, so in cluster mode another process could own and run the object meanwhile.
// Now a hold acquires the placement as an activation does: while another process owns
// the object every such operation fails and changes nothing, and once it is free they
// succeed and give the placement back. Fails on the code before the fix (the delete
// succeeds while process B owns the object).
func TestOperatorHoldsAcquirePlacement(t *testing.T) {
	shared := &sharedPlacement{}
	a := objecttest.New(t, object.Config{Placement: shared.owner("a")})
	b := objecttest.New(t, object.Config{Placement: shared.owner("b")})
	nbA := registerNotebook(t, a.Runtime, "notebook")
	nbB := registerNotebook(t, b.Runtime, "notebook")
	ctx := context.Background()
	stub := nbA.ns.GetByName("contested")
	must(nbA.add.Call(ctx, stub, "written by a"))
	backup := filepath.Join(t.TempDir(), "contested.sqlite")
	var buf bytes.Buffer
	if err := a.ExportSQLite(ctx, "notebook", stub.ID(), &buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(backup, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	a.EvictAll() // a gives the object up; b activates it and keeps it
	must(nbB.add.Call(ctx, nbB.ns.GetByName("contested"), "written by b"))
	if h := shared.holder("notebook", stub.ID()); h != "b" {
		t.Fatalf("holder %q, want b", h)
	}

	path := a.DatabasePath("notebook", stub.ID())
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]func() error{
		"delete":  func() error { return a.DeleteObject(ctx, "notebook", stub.ID()) },
		"restore": func() error { return a.RestoreFile(ctx, "notebook", stub.ID(), backup) },
		"sql write": func() error {
			_, err := a.Query(ctx, "notebook", stub.ID(), `INSERT INTO notes (body) VALUES ('operator')`, object.QueryOptions{Write: true})
			return err
		},
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, errOwnedElsewhere) {
			t.Errorf("%s while b owns the object: %v, want the placement's refusal", name, err)
		}
	}
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
		t.Fatalf("a refused operation changed a's file (err %v)", err)
	}
	if h := shared.holder("notebook", stub.ID()); h != "b" {
		t.Fatalf("holder after the refusals %q, want b", h)
	}

	b.EvictAll() // b gives it up: a's operator may now hold it
	for _, name := range []string{"sql write", "restore", "delete"} {
		if err := ops[name](); err != nil {
			t.Fatalf("%s once the object is free: %v", name, err)
		}
		if h := shared.holder("notebook", stub.ID()); h != "" {
			t.Fatalf("after %s the placement is still held by %q", name, h)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("deleted object's file: %v", err)
	}
}
