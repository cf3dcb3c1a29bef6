package server_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/server"
)

// lockedBuffer is a bytes.Buffer safe for Run's logger and the test at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRunSaysWhereItServes: the "serving" log line carries the app's name and
// the URL to open, so `make run` in a fork says which port it uses. Before, it
// logged only the listen address.
func TestRunSaysWhereItServes(t *testing.T) {
	var logs lockedBuffer
	ready := make(chan net.Addr, 1)
	app := server.App{Name: "myapp", Ready: func(a net.Addr) { ready <- a }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, app, []string{"-addr", "127.0.0.1:0", "-data", t.TempDir()}, &logs) }()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not start")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
	}
	want := "msg=serving app=myapp url=http://" + addr.String() + "/"
	if !strings.Contains(logs.String(), want) {
		t.Errorf("logs lack %q:\n%s", want, logs.String())
	}
}

// TestRunExplainsABusyPort: a taken default port is an error that says how to
// pick another, not only the system's "address already in use".
func TestRunExplainsABusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	app := server.App{Name: "myapp", Addr: ln.Addr().String()}
	err = server.Run(context.Background(), app, []string{"-data", t.TempDir()}, &lockedBuffer{})
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "-addr") {
		t.Fatalf("Run on a busy port: %v, want the cause and how to choose another address", err)
	}
}

func TestOpenURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8787": "http://127.0.0.1:8787/",
		"[::]:8788":      "http://localhost:8788/",
		"0.0.0.0:8789":   "http://localhost:8789/",
		"[::1]:8790":     "http://[::1]:8790/",
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := server.OpenURL(a); got != want {
			t.Errorf("OpenURL(%s) = %s, want %s", addr, got, want)
		}
	}
}
