package main

import (
	"context"
	"github.com/warrenhq/warren/runtime/objecttest"
	"github.com/warrenhq/warren/runtime/server"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestCounter(t *testing.T) {
	a := app()
	ready := make(chan net.Addr, 1)
	a.Ready = func(addr net.Addr) { ready <- addr }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runApp(ctx, a, t.TempDir()) }()
	url := "http://" + (<-ready).String() + objecttest.PartyPath("counter", "visits")
	defer func() { cancel(); <-done }()
	for _, want := range []string{"1", "2"} {
		resp, err := http.Post(url, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := strings.TrimSpace(string(b)); got != want {
			t.Fatalf("POST: %q, want %q", got, want)
		}
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := strings.TrimSpace(string(b)); got != "2" {
		t.Fatalf("GET: %q", got)
	}
}

func runApp(ctx context.Context, a server.App, dir string) error {
	return server.Run(ctx, a, []string{"-addr", "127.0.0.1:0", "-data", dir, "-log-level", "error"}, io.Discard)
}
