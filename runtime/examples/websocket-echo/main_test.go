package main

import (
	"context"
	"github.com/warrenhq/warren/runtime/objecttest"
	"github.com/warrenhq/warren/runtime/server"
	"io"
	"net"
	"testing"

	"github.com/gorilla/websocket"
)

func TestEcho(t *testing.T) {
	a := app()
	ready := make(chan net.Addr, 1)
	a.Ready = func(addr net.Addr) { ready <- addr }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runApp(ctx, a, t.TempDir()) }()
	addr := <-ready
	defer func() { cancel(); <-done }()
	c1, _, err := websocket.DefaultDialer.Dial(objecttest.PartyURL("ws://"+addr.String(), "echo", "lobby", "_pk=a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, _, err := websocket.DefaultDialer.Dial(objecttest.PartyURL("ws://"+addr.String(), "echo", "lobby", "_pk=b"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.WriteMessage(websocket.TextMessage, []byte("hi"))
	_, b, err := c2.ReadMessage()
	if want := "[Warren object] message: hi, connections: 2"; err != nil || string(b) != want {
		t.Fatalf("got %q %v, want %q", b, err, want)
	}
}

func runApp(ctx context.Context, a server.App, dir string) error {
	return server.Run(ctx, a, []string{"-addr", "127.0.0.1:0", "-data", dir, "-log-level", "error"}, io.Discard)
}
