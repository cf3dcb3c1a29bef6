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
	rt, ns, put := catalogBoxes(t, 8)
	c := rt.ops.catalog
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

// catalogBoxes returns a runtime whose catalogue holds at most max objects pending
// (restored when the test ends), with its startup scan over, a namespace of boxes,
// and put, a commit to the box of that name.
func catalogBoxes(t *testing.T, max int) (*Runtime, *Namespace[catalogBox], func(name string) error) {
	t.Helper()
	old := catalogPendingMax
	catalogPendingMax = max
	t.Cleanup(func() { catalogPendingMax = old })
	rt, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	ns, err := Register(rt, "box", func(ctx context.Context, st *State) (*catalogBox, error) { return &catalogBox{st}, nil })
	if err != nil {
		t.Fatal(err)
	}
	<-rt.ops.catalog.ready
	return rt, ns, func(name string) error {
		return ns.RunLocal(context.Background(), ns.GetByName(name), func(ctx context.Context, b *catalogBox) error {
			return b.st.Storage().Put("k", []byte(name))
		})
	}
}

type catalogBox struct{ st *State }

// While the startup scan after an unclean stop runs, it holds the flusher for as long
// as it takes to read the whole data directory: commits past the bound do not wait
// for it (every object not in the map would stop until the scan ended). Once the scan
// is over, the bound holds again.
func TestCatalogPendingNotBoundedDuringTheScan(t *testing.T) {
	rt, _, put := catalogBoxes(t, 8)
	c := rt.ops.catalog
	c.flushMu.Lock() // the scan holds the flusher...
	scanning := make(chan struct{})
	c.ready = scanning // ...and is not over (set before any commit of this test)
	over := false
	defer func() { // a failure below must not leave the runtime's Close waiting for the flusher
		if !over {
			close(scanning)
			c.flushMu.Unlock()
		}
	}()
	const n = 40
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- put(fmt.Sprintf("box-%02d", i)) }()
	}
	for i := range n {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("during the scan, %d of %d commits done, %d waited: commits past the bound wait for a flush that cannot run", i, n, c.waits.Load())
		}
	}
	if w := c.waits.Load(); w != 0 {
		t.Fatalf("%d commits waited during the scan", w)
	}
	close(scanning)
	c.flushMu.Unlock()
	over = true
	list, err := rt.ListObjects(context.Background(), "box", ObjectListOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Objects) != n {
		t.Fatalf("%d objects listed, want %d", len(list.Objects), n)
	}
}
