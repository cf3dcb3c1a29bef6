package object

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// TestInMemoryChangeCounter: persist relies on SQLite's file change counter of an
// in-memory database moving with every commit that writes, and only then.
func TestInMemoryChangeCounter(t *testing.T) {
	tpl, err := newTemplate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, conn, g, err := new(memConns).open(ctx, tpl)
	if err != nil {
		t.Fatal(err)
	}
	g.committing = true // the runtime's commits only (sqlGuard)
	defer db.Close()
	defer conn.Close()
	counter := func() uint32 {
		var img []byte
		if err := conn.Raw(func(dc any) error { img, err = dc.(serializer).Serialize(); return err }); err != nil {
			t.Fatal(err)
		}
		return binary.BigEndian.Uint32(img[24:28])
	}
	run := func(qs ...string) {
		for _, q := range qs {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				t.Fatal(q, err)
			}
		}
	}
	c0 := counter()
	run("BEGIN", "SELECT count(*) FROM _warren_kv", "COMMIT")
	if c := counter(); c != c0 {
		t.Fatalf("a read-only commit moved the counter %d -> %d", c0, c)
	}
	run("BEGIN", "INSERT INTO _warren_kv VALUES ('k', x'01')", "COMMIT")
	c1 := counter()
	if c1 == c0 {
		t.Fatalf("a commit that wrote left the counter at %d", c0)
	}
	run("BEGIN", "CREATE TABLE t (x)", "COMMIT")
	if c := counter(); c == c1 {
		t.Fatalf("a commit that created a table left the counter at %d", c1)
	}
}

// TestNewObjectOutgrowsMemory: a new object whose first batch writes more than its
// in-memory bound fails with ErrRetryable, and its next call runs on its file, where
// the same write succeeds.
func TestNewObjectOutgrowsMemory(t *testing.T) {
	old := maxMemoryPages
	maxMemoryPages = 20
	t.Cleanup(func() { maxMemoryPages = old })
	rt, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	type big struct{ st *State }
	put := NewMethod("put", func(b *big, ctx context.Context, n int) (int, error) {
		return n, b.st.Storage().Put("v", make([]byte, n))
	})
	ns, err := Register(rt, "big", func(ctx context.Context, st *State) (*big, error) { return &big{st}, nil }, Methods(put))
	if err != nil {
		t.Fatal(err)
	}
	stub := ns.GetByName("b")
	if _, err := put.Call(context.Background(), stub, 200<<10); !errors.Is(err, ErrRetryable) {
		t.Fatalf("a first batch of 200 KiB with a bound of 20 pages: err = %v, want ErrRetryable", err)
	}
	if _, err := put.Call(context.Background(), stub, 200<<10); err != nil {
		t.Fatalf("the retry on the file: %v", err)
	}
	// The same for an object activated from a copy of its (small) file.
	rt.WaitIdle() // the runner may still be finishing the call: an object running is not evicted
	if rt.EvictIdle(0) != 1 {
		t.Fatal("the object was not evicted")
	}
	if _, err := put.Call(context.Background(), stub, 220<<10); !errors.Is(err, ErrRetryable) {
		t.Fatalf("a batch of 220 KiB on a copy of the file with a bound of 20 pages: err = %v, want ErrRetryable", err)
	}
	if _, err := put.Call(context.Background(), stub, 220<<10); err != nil {
		t.Fatalf("the retry on the file: %v", err)
	}
}

// TestMemConnsKeepOnlySmallCleanConnections: memConns keeps a connection whose
// database is small and whose user SQL left nothing in the temp database, and closes
// one that holds more than maxLoadBytes (it would keep that memory) or touched temp.
func TestMemConnsKeepOnlySmallCleanConnections(t *testing.T) {
	tpl, err := newTemplate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var p memConns
	p.start()
	defer p.closeAll()
	keptSized := func(size int64, setup func(conn *sql.Conn, g *sqlGuard)) bool {
		t.Helper()
		db, conn, g, err := p.open(ctx, tpl)
		if err != nil {
			t.Fatal(err)
		}
		g.committing = true // the runtime's commits only (sqlGuard)
		setup(conn, g)
		before := len(p.free)
		p.put(db, conn, g, -1, size)
		return len(p.free) > before
	}
	kept := func(setup func(conn *sql.Conn, g *sqlGuard)) bool { return keptSized(-1, setup) }
	if !kept(func(*sql.Conn, *sqlGuard) {}) {
		t.Fatal("a connection with the template's database was not kept")
	}
	if kept(func(conn *sql.Conn, _ *sqlGuard) {
		if _, err := conn.ExecContext(ctx, "CREATE TABLE big (b); INSERT INTO big VALUES (zeroblob(?))", maxLoadBytes); err != nil {
			t.Fatal(err)
		}
	}) {
		t.Fatalf("a connection holding more than %d bytes was kept", maxLoadBytes)
	}
	if keptSized(maxLoadBytes+1, func(*sql.Conn, *sqlGuard) {}) {
		t.Fatalf("a connection whose database its object measured at more than %d bytes was kept", maxLoadBytes)
	}
	if !keptSized(int64(len(tpl)), func(*sql.Conn, *sqlGuard) {}) {
		t.Fatal("a connection whose database its object measured at the template's size was not kept")
	}
	if kept(func(_ *sql.Conn, g *sqlGuard) { g.temp = true }) {
		t.Fatal("a connection whose user SQL touched the temp database was kept")
	}
}

// TestNewObjectsConnectionPooledOnlyWhenSmall: a new object's in-memory connection
// goes back to memConns when its first commit left a small database, and is closed
// when that commit left more than maxLoadBytes (the size its commit serialized, with
// no statement asked: persist measures it).
func TestNewObjectsConnectionPooledOnlyWhenSmall(t *testing.T) {
	rt, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	type blob struct{ st *State }
	put := NewMethod("put", func(b *blob, ctx context.Context, n int) (int, error) {
		return n, b.st.Storage().Put("v", make([]byte, n))
	})
	ns, err := Register(rt, "blob", func(ctx context.Context, st *State) (*blob, error) { return &blob{st}, nil }, Methods(put))
	if err != nil {
		t.Fatal(err)
	}
	pooled := func() int {
		rt.memConns.mu.Lock()
		defer rt.memConns.mu.Unlock()
		return len(rt.memConns.free)
	}
	for i, c := range []struct {
		bytes int
		kept  bool
	}{{100, true}, {maxLoadBytes + 4096, false}, {1000, true}, {2 * maxLoadBytes, false}} {
		before := pooled()
		if _, err := put.Call(context.Background(), ns.GetByName(fmt.Sprint("o", i)), c.bytes); err != nil {
			t.Fatal(err)
		}
		rt.WaitIdle()
		if rt.EvictIdle(0) != 1 {
			t.Fatalf("object %d was not evicted", i)
		}
		if kept := pooled() > before; kept != c.kept {
			t.Fatalf("a new object of %d bytes: connection pooled = %v, want %v", c.bytes, kept, c.kept)
		}
	}
}
