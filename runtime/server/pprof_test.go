package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/warrenhq/warren/runtime/server"
)

// TestPprofLoopbackOnly: -pprof serves Go's profiler on a loopback address (the
// profiling commands of issue 16), and refuses any other address: profiles show code
// paths and memory.
func TestPprofLoopbackOnly(t *testing.T) {
	var out strings.Builder
	err := server.Run(context.Background(), server.App{Name: "p"}, []string{"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-pprof", "0.0.0.0:6060"}, &out)
	if err == nil || !strings.Contains(err.Error(), "loopback only") {
		t.Fatalf("-pprof 0.0.0.0:6060: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	runApp(t, server.App{Name: "p"}, "-pprof", addr)
	resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || len(b) == 0 {
		t.Fatalf("profiler: %d %q", resp.StatusCode, b)
	}
}
