package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// TestRunAllowedHostsAndOrigins: every app binary reads the same flags and
// environment for the Host and Origin allow-lists (issue 14, findings 9 and 11).
func TestRunAllowedHostsAndOrigins(t *testing.T) {
	t.Setenv("WARREN_ALLOWED_HOSTS", "dash.example, ,other.example")
	app := server.App{Name: "hosts", Setup: func(rt *object.Runtime, s *server.Server) error {
		s.Handle("/api/x", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
		return nil
	}}
	addr := runApp(t, app, "-allowed-origins", "https://app.example")
	do := func(method, host, origin string) int {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "%s /api/x HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nContent-Length: 0\r\n\r\n", method, host, origin)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	_, port, _ := strings.Cut(addr, ":")
	for _, c := range []struct {
		method, host, origin string
		want                 int
	}{
		{"GET", "dash.example:" + port, "http://dash.example:" + port, 200},
		{"GET", "other.example", "", 200},
		{"GET", "evil.example", "", 403},
		{"POST", addr, "https://app.example", 200},
		{"POST", addr, "https://evil.example", 403},
	} {
		if got := do(c.method, c.host, c.origin); got != c.want {
			t.Errorf("%s Host %s Origin %s: %d, want %d", c.method, c.host, c.origin, got, c.want)
		}
	}
}
