package server_test

import (
	"net/http"
	"testing"

	"github.com/warrenhq/warren/runtime/server"
)

// TestClientAddr: the per-address key is the TCP peer's IP, never a header the
// client sets.
func TestClientAddr(t *testing.T) {
	for remote, want := range map[string]string{
		"127.0.0.2:5555":   "127.0.0.2",
		"[::1]:80":         "::1",
		"[fe80::1%lo]:443": "fe80::1%lo",
		"no-port":          "no-port",
	} {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {"10.9.9.9"}}}
		if got := server.ClientAddr(r); got != want {
			t.Errorf("ClientAddr(%q) = %q, want %q", remote, got, want)
		}
	}
}
