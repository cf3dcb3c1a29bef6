package history_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/history"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// TestRunnerDoesNotWaitForTheArchive holds the first archive's segment sync (a slow
// disk) and checks the object keeps committing turns meanwhile: the archive runs off
// the runner (before, the runner synced the segment itself after the batch, and the
// next turn waited for it). Once the sync is let go, every turn's state, those
// committed while the archive was held included, restores exactly (integrity_check,
// Verify).
func TestRunnerDoesNotWaitForTheArchive(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var let sync.Once
	letGo := func() { let.Do(func() { close(release) }) }
	defer history.HoldSegmentSync(func() { close(entered); <-release })()
	defer letGo() // a failure lets the held sync go, so that the runtime can close
	clock := objecttest.NewClock()
	e := start(t, t.TempDir(), clock, history.Config{CheckpointBytes: 32 << 10})
	ctx := context.Background()
	stub := e.ns.GetByName("slow-disk")
	id := stub.ID()
	marks := []string{""}
	turn := func(n int) error {
		clock.Advance(time.Millisecond)
		if _, err := turnM.Call(ctx, stub, n); err != nil {
			return fmt.Errorf("turn %d: %w", n, err)
		}
		bm, err := e.rt.CurrentBookmark(ctx, "ledger", id)
		marks = append(marks, bm)
		return err
	}
	// Turns until the first archive holds its sync, then 99 more, within 20 s.
	n, heldAt := 0, 0
	done := make(chan error, 1)
	go func() {
		for held := 0; held < 100; {
			n++
			if err := turn(n); err != nil {
				done <- err
				return
			}
			if heldAt == 0 {
				select {
				case <-entered:
					heldAt = n
				default:
				}
			}
			if heldAt > 0 {
				held++
			} else if n > 2000 {
				done <- errors.New("no archive started")
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		letGo()
		<-done
		t.Fatalf("the turns did not go on while the archive's sync was held (held after turn %d; %d turns by then)", heldAt, n)
	}
	letGo()
	for range 100 {
		n++
		if err := turn(n); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("the archive's sync was held from turn %d to %d", heldAt, heldAt+99)
	for _, k := range []int{1, heldAt - 1, heldAt, heldAt + 1, heldAt + 50, heldAt + 99, heldAt + 100, n} {
		if _, err := e.rt.RestoreBookmark(ctx, "ledger", id, marks[k]); err != nil {
			t.Fatalf("restore to turn %d: %v", k, err)
		}
		integrity(t, e.rt, id, "ledger")
		if got, want := kv(t, e.rt, id), stateAfter(k); !maps.Equal(got, want) {
			t.Fatalf("restored to turn %d: %d keys, want %d", k, len(got), len(want))
		}
	}
	if err := e.hist.Verify("ledger", id); err != nil {
		t.Fatal(err)
	}
}
