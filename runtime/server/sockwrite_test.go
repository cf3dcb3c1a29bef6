package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// TestBatchGoesOutInOneWrite pins the write coalescing of issue 16: the frames one
// batch sends a socket (here one turn broadcasting 50 messages) are queued together
// and leave in one write system call per socket. Before, every frame was a write of
// its own (melody's write pump, one gorilla WriteMessage per frame): 50 writes.
func TestBatchGoesOutInOneWrite(t *testing.T) {
	h := start(t, server.Config{}, object.Config{})
	before := h.metric("warren_socket_writes_total")
	a := h.dial("/parties/room/batch?_pk=a")
	b := h.dial("/parties/room/batch?_pk=b")
	roundTrip(t, a, "x")
	roundTrip(t, b, "x")
	// The echoes' writes are counted once each write returns, maybe just after the
	// echo arrives: wait for both, so the baseline does not miss one.
	waitFor(t, "the echoes' writes counted", func() bool { return h.metric("warren_socket_writes_total")-before >= 2 })
	writes, out := h.metric("warren_socket_writes_total"), h.metric("warren_socket_messages_out_total")
	const n = 50
	send(t, a, fmt.Sprintf("flood:%d:100", n))
	for _, c := range []*websocket.Conn{a, b} {
		for i := range n {
			if m := recv(t, c); !strings.HasPrefix(m, fmt.Sprintf("%08d", i)) {
				t.Fatalf("frame %d is %.8q", i, m)
			}
		}
	}
	if d := h.metric("warren_socket_messages_out_total") - out; d != 2*n {
		t.Fatalf("%v frames written, want %d", d, 2*n)
	}
	// Counted once each write returns, so maybe just after its frames arrive.
	waitFor(t, "the writes counted", func() bool { return h.metric("warren_socket_writes_total")-writes >= 2 })
	if d := h.metric("warren_socket_writes_total") - writes; d != 2 {
		t.Fatalf("%v write system calls for %d frames to 2 sockets, want 2", d, 2*n)
	}
}

// TestSlowReaderGetsEveryFrameInOrder: a reader that stops reading makes the writes
// to it partial (its kernel buffers fill), so the rest of a frame waits while more
// frames and control frames (the pongs to its pings) queue behind it. When it reads
// again it gets every frame whole and in order, and its pongs.
func TestSlowReaderGetsEveryFrameInOrder(t *testing.T) {
	h := start(t, server.Config{}, object.Config{})
	c := h.dial("/parties/room/slow?_pk=r")
	roundTrip(t, c, "x")
	turns := h.metric("warren_turns_total")
	pongs := make(chan string, 16)
	c.SetPongHandler(func(s string) error { pongs <- s; return nil })
	const rounds, per, size = 8, 20, 24 << 10 // 3.75 MiB, more than loopback buffers hold
	for r := range rounds {
		send(t, c, fmt.Sprintf("flood:%d:%d", per, size))
		if err := c.WriteControl(websocket.PingMessage, []byte(fmt.Sprint("p", r)), time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the floods' turns", func() bool { return h.metric("warren_turns_total") >= turns+rounds })
	for i := range rounds * per {
		m := recv(t, c)
		if len(m) != size || !strings.HasPrefix(m, fmt.Sprintf("%08d", i)) {
			t.Fatalf("frame %d: %d bytes, starts %.8q", i, len(m), m)
		}
	}
	if got := len(pongs); got == 0 {
		t.Fatal("no pong answered the pings sent during the backlog")
	}
	if m := roundTrip(t, c, "after"); m != "echo:after" {
		t.Fatalf("after the backlog: %q", m)
	}
}

// TestPeerCloseIsAnswered: a client's close frame is answered with its code (RFC
// 6455 §5.5.1) and reaches OnClose; a client's ping is answered with a pong.
func TestPeerCloseIsAnswered(t *testing.T) {
	h := start(t, server.Config{}, object.Config{})
	c := h.dial("/parties/room/bye?_pk=p")
	roundTrip(t, c, "x")
	pong := make(chan string, 1)
	c.SetPongHandler(func(s string) error { pong <- s; return nil })
	if err := c.WriteControl(websocket.PingMessage, []byte("hello"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if m := roundTrip(t, c, "y"); m != "echo:y" {
		t.Fatalf("got %q", m)
	}
	select {
	case s := <-pong:
		if s != "hello" {
			t.Fatalf("pong %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong")
	}
	if err := c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "leaving"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if code, _ := closeCode(t, c); code != 4001 {
		t.Fatalf("close answered with %d, want 4001", code)
	}
	if ev := h.waitClose("p", 5*time.Second); ev.code != 4001 || ev.reason != "leaving" || !ev.clean {
		t.Fatalf("OnClose %+v", ev)
	}
}
