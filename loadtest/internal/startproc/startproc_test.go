package startproc

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestMain lets the test binary act as a tiny server: with
// STARTPROC_LISTEN set it listens there until killed.
func TestMain(m *testing.M) {
	if addr := os.Getenv("STARTPROC_LISTEN"); addr != "" {
		time.Sleep(200 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			os.Exit(1)
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				os.Exit(1)
			}
			c.Close()
		}
	}
	os.Exit(m.Run())
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestStartWaitStop(t *testing.T) {
	addr := freeAddr(t)
	t.Setenv("STARTPROC_LISTEN", addr)
	p, err := Start(context.Background(), os.Args[0], addr, 10*time.Second, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if p.PID() <= 0 {
		t.Error("no pid")
	}
	p.Stop(2 * time.Second)
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("server still listening after Stop")
	}
}

func TestStartFailsWhenProcessExits(t *testing.T) {
	if _, err := exec.LookPath("false"); err != nil {
		t.Fatal("false(1) not found")
	}
	_, err := Start(context.Background(), "false", freeAddr(t), 5*time.Second, io.Discard)
	if err == nil {
		t.Fatal("no error")
	}
}
