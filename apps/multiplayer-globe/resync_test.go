package main

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// failOnce fails the next commit of namespace "globe" once armed, as a full disk
// would: the batch is rolled back and the session's instance reset, its sockets
// kept. Every other commit is the real one, to the real SQLite file.
type failOnce struct{ armed, failed atomic.Bool }

func (f *failOnce) Commit(ctx context.Context, ns string, id object.ID, turns int, commit func() error) error {
	if ns == "globe" && f.armed.CompareAndSwap(true, false) {
		f.failed.Store(true)
		return errors.New("test: commit refused")
	}
	return commit()
}

// TestSessionResyncsAfterReset: when a failed turn resets a session, its players'
// sockets stay connected and the instance is rebuilt with a new world (new items
// and numbers) at its next event. Each socket is sent a welcome and a snapshot of
// that world, and it ticks; before, the clients kept the old world's items and
// numbers.
func TestSessionResyncsAfterReset(t *testing.T) {
	fc := &failOnce{}
	a := globeApp(Options{})
	a.Runtime.Committer = fc
	addr, _ := startApp(t, t.TempDir(), a)
	c := dial(t, addr, "/parties/globe/reset?_pk=p1&name=erin")
	c.next("welcome", ofType("welcome"))
	c.next("snapshot", ofType("snapshot"))
	c.send(`{"type":"input","h":90,"m":1}`)
	c.next("a tick", ofType("tick"))
	fc.armed.Store(true) // the resume records are saved every 2 s: that commit fails
	for deadline := time.Now().Add(10 * time.Second); !fc.failed.Load(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no commit of the session in 10 s")
		}
	}
	// The reset instance is rebuilt at its next event: the page steers every second
	// while it moves.
	c.send(`{"type":"input","h":90,"m":1}`)
	w := c.next("the welcome of the rebuilt instance", ofType("welcome"))
	snap := c.next("its snapshot", ofType("snapshot"))
	you := w["you"].(float64)
	playerAt(t, snap, you) // fails the test when the player is not in it
	if len(asSlice(snap["items"])) == 0 {
		t.Fatalf("snapshot of the rebuilt world has no items: %v", snap)
	}
	// The new world ticks: the player moves when it steers again.
	c.send(`{"type":"input","h":180,"m":1}`)
	c.next("the rebuilt world moving the player", func(m map[string]any) bool {
		for _, p := range asSlice(m["p"]) {
			if p.([]any)[0].(float64) == you {
				return true
			}
		}
		return false
	})
}
