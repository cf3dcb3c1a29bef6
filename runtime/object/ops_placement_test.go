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

// gateCommitter records the commits it sees and refuses them while refuse is set.
type gateCommitter struct {
	mu      sync.Mutex
	refuse  bool
	commits []string // namespace/id of each commit
}

var errCommitRefused = errors.New("commit refused by the committer")

func (c *gateCommitter) Commit(_ context.Context, ns string, id object.ID, _ int, commit func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commits = append(c.commits, ns+"/"+id.String())
	if c.refuse {
		return errCommitRefused
	}
	return commit()
}

func (c *gateCommitter) set(refuse bool) (seen int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refuse = refuse
	return len(c.commits)
}

// TestConsoleWriteCommitsThroughCommitter pins the other half of the same gap: a SQL
// console write committed on its own connection without the runtime's Committer, so
// in cluster mode it would not be shipped as the object's batches are. Now it commits
// through the Committer, and a refused commit stores nothing. Fails on the code before
// the fix (the write is stored although the committer refuses).
func TestConsoleWriteCommitsThroughCommitter(t *testing.T) {
	gate := &gateCommitter{}
	rt := objecttest.New(t, object.Config{Committer: gate})
	nb := registerNotebook(t, rt.Runtime, "notebook")
	ctx := context.Background()
	stub := nb.ns.GetByName("console")
	must(nb.add.Call(ctx, stub, "first"))
	write := func() error {
		_, err := rt.Query(ctx, "notebook", stub.ID(), `INSERT INTO notes (body) VALUES ('operator')`, object.QueryOptions{Write: true})
		return err
	}
	before := gate.set(true)
	if err := write(); !errors.Is(err, errCommitRefused) {
		t.Fatalf("console write with the commit refused: %v, want the committer's error", err)
	}
	if after := gate.set(false); after != before+1 {
		t.Fatalf("the committer saw %d commits for one console write, want 1", after-before)
	}
	if n := must(nb.count.Call(ctx, stub, struct{}{})); n != 1 {
		t.Fatalf("%d notes after a refused console write, want 1", n)
	}
	if err := write(); err != nil {
		t.Fatal(err)
	}
	if n := must(nb.count.Call(ctx, stub, struct{}{})); n != 2 {
		t.Fatalf("%d notes after the console write, want 2", n)
	}
	gate.mu.Lock()
	defer gate.mu.Unlock()
	if want := "notebook/" + stub.ID().String(); gate.commits[len(gate.commits)-2] != want {
		t.Fatalf("console write committed as %s, want %s", gate.commits[len(gate.commits)-2], want)
	}
}
