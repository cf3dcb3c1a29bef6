package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// TestWriteHoldPacesBusySockets pins Config.WriteHold: a frame to a socket that was
// not written within the hold goes out at once, and frames that follow a write
// within the hold wait for it and leave together in one write. Without the hold,
// the 20 echoes below, 5 ms apart, are 20 writes.
func TestWriteHoldPacesBusySockets(t *testing.T) {
	const hold = time.Second
	h := start(t, server.Config{WriteHold: hold}, object.Config{})
	c := h.dial("/parties/room/hold?_pk=a")
	roundTrip(t, c, "x")
	time.Sleep(hold + hold/2) // quiet for more than the hold: the next frame goes at once

	t0 := time.Now()
	if m := roundTrip(t, c, "lone"); m != "echo:lone" {
		t.Fatalf("got %q", m)
	}
	if d := time.Since(t0); d >= hold*3/4 {
		t.Fatalf("a lone frame took %v: it waited for the hold (%v)", d, hold)
	}

	// The echo above was a write: what follows within the hold is held.
	waitFor(t, "the lone write counted", func() bool { return h.metric("warren_socket_writes_total") >= 2 })
	writes := h.metric("warren_socket_writes_total")
	const n = 20
	for i := range n {
		send(t, c, fmt.Sprint("m", i))
		time.Sleep(5 * time.Millisecond)
	}
	for i := range n {
		if m, want := recv(t, c), fmt.Sprint("echo:m", i); m != want {
			t.Fatalf("frame %d is %q, want %q", i, m, want)
		}
	}
	if d := h.metric("warren_socket_writes_total") - writes; d > 3 {
		t.Fatalf("%v writes for %d frames 5 ms apart within a %v hold, want at most 3", d, n, hold)
	}
}
