package object

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// The catalogue's map of objects not yet written is bounded. With its flusher held
// (a flush that cannot keep up with the commits), the commits of new objects past
// catalogPendingMax wait instead of growing the map, an object already in the map
// commits again without waiting, and every commit goes on once a flush takes the
// map; every object is listed after. Before the bound, the map held every object
// committed while a flush was slow (~100 bytes each, without limit).
func TestCatalogPendingBounded(t *testing.T) {
	defer func(n int) { catalogPendingMax = n }(catalogPendingMax)
	catalogPendingMax = 8
	rt, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	type box struct{ st *State }
	ns, err := Register(rt, "box", func(ctx context.Context, st *State) (*box, error) { return &box{st}, nil })
	if err != nil {
		t.Fatal(err)
	}
	put := func(name string) error {
		return ns.RunLocal(context.Background(), ns.GetByName(name), func(ctx context.Context, b *box) error {
			return b.st.Storage().Put("k", []byte(name))
		})
	}
	c := rt.ops.catalog
	<-c.ready
	c.flushMu.Lock() // every flush waits
	held := true
	defer func() {
		if held {
			c.flushMu.Unlock()
		}
	}()
	const n = 40
	var done atomic.Int64
	errs := make(chan error, n)
	for i := range n {
		go func() {
			err := put(fmt.Sprintf("box-%02d", i))
			done.Add(1)
			errs <- err
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for c.waits.Load() < n-int64(catalogPendingMax) {
		if time.Now().After(deadline) {
			c.mu.Lock()
			pending := len(c.pending)
			c.mu.Unlock()
			t.Fatalf("with the flusher held: %d objects pending (bound %d), %d commits waited, %d of %d done", pending, catalogPendingMax, c.waits.Load(), done.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.mu.Lock()
	pending := len(c.pending)
	c.mu.Unlock()
	if pending != catalogPendingMax || done.Load() != int64(catalogPendingMax) {
		t.Fatalf("with the flusher held: %d objects pending, %d commits done; want %d and %d", pending, done.Load(), catalogPendingMax, catalogPendingMax)
	}
	// An object in the map commits again at once.
	again := ""
	c.mu.Lock()
	for i := range n {
		name := fmt.Sprintf("box-%02d", i)
		if _, ok := c.pending[wakeKey{"box", ns.GetByName(name).ID().raw}]; ok {
			again = name
			break
		}
	}
	c.mu.Unlock()
	if again == "" {
		t.Fatal("none of the objects done is in the pending map")
	}
	if err := put(again); err != nil {
		t.Fatal(err)
	}
	if w := c.waits.Load(); w != n-int64(catalogPendingMax) {
		t.Fatalf("%d commits waited, want %d: the second commit of an object in the map waited", w, n-catalogPendingMax)
	}
	c.flushMu.Unlock()
	held = false
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	list, err := rt.ListObjects(context.Background(), "box", ObjectListOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Objects) != n {
		t.Fatalf("%d objects listed, want %d", len(list.Objects), n)
	}
	if w := rt.Stats().CatalogWaits; w < n-int64(catalogPendingMax) {
		t.Errorf("Stats().CatalogWaits = %d, want at least %d", w, n-catalogPendingMax)
	}
}
