package server_test

import (
	"net/http"
	"testing"

	"github.com/warrenhq/warren/runtime/server"
)

// TestClientAddr: the per-address key is the TCP peer's IP, never a header the
// client sets; an IPv6 peer counts by its /64 (issue 14, finding 5: a client picks
// addresses of its own network freely).
func TestClientAddr(t *testing.T) {
	for remote, want := range map[string]string{
		"127.0.0.2:5555":      "127.0.0.2",
		"[::1]:80":            "::1",
		"[fe80::1%lo]:443":    "fe80::/64",
		"[2001:db8::1]:1":     "2001:db8::/64",
		"[2001:db8::ff]:2":    "2001:db8::/64",
		"[::ffff:10.0.0.1]:3": "10.0.0.1",
		"no-port":             "no-port",
	} {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {"10.9.9.9"}}}
		if got := server.ClientAddr(r); got != want {
			t.Errorf("ClientAddr(%q) = %q, want %q", remote, got, want)
		}
	}
}
