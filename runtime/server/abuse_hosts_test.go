package server_test

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// Host and cross-site abuse (issue 14, findings 9 and 11). Each test failed before
// the check it pins existed: any Host was served, an Origin was compared with
// whatever Host the client sent, and any page could POST to any object.

// rawRequest sends one request with the given Host and headers on a fresh connection
// and returns the status.
func rawRequest(t *testing.T, h *harness, method, path, host string, hdr map[string]string, body string) int {
	t.Helper()
	c := tcpFrom(t, h, "127.0.0.1")
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Length: %d\r\n", method, path, host, len(body))
	for k, v := range hdr {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n" + body)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte(b.String()))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s (Host %s): %v", method, path, host, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAbuseDNSRebinding (finding 11): a page whose name was made to resolve to the
// server sends its own name as Host and as Origin. Such requests and upgrades get 403;
// IP addresses, localhost names and configured names are served. Before, the upgrade
// got 101 and the request 200.
func TestAbuseDNSRebinding(t *testing.T) {
	h := start(t, server.Config{AllowedHosts: []string{"dash.example", "*.corp.example"}}, object.Config{})
	_, port, _ := strings.Cut(h.addr, ":")
	served := 0
	for host, want := range map[string]int{
		"rebind.evil.example:" + port: 403,
		"rebind.evil.example":         403,
		"localhost.evil.example":      403,
		"corp.example":                403, // *.corp.example is subdomains only
		"127.0.0.1:" + port:           200,
		"[::1]:" + port:               200,
		"10.1.2.3":                    200, // an IP: no name to rebind
		"localhost:" + port:           200,
		"LocalHost.:" + port:          200,
		"app.localhost:" + port:       200,
		"dash.example:" + port:        200,
		"DASH.example":                200,
		"wiki.corp.example":           200,
	} {
		if got := rawRequest(t, h, "GET", "/parties/room/rebind", host, nil, ""); got != want {
			t.Errorf("GET with Host %q: %d, want %d", host, got, want)
		}
		if want == 200 {
			served++
		}
	}
	if got := rawRequest(t, h, "GET", "/healthz", "lb.internal.example", nil, ""); got != 200 {
		t.Errorf("/healthz with a load balancer's Host: %d, want 200 (exempt)", got)
	}
	// The attack as a browser makes it: Host and Origin agree, both the attacker's.
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	hdr := http.Header{"Origin": {"http://rebind.evil.example:" + port}, "Host": {"rebind.evil.example:" + port}}
	if c, resp, err := d.Dial(h.url("/parties/room/rebind"), hdr); err == nil {
		c.Close()
		t.Fatal("rebinding upgrade got 101")
	} else if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("rebinding upgrade: %v %v, want 403", resp, err)
	}
	if got := rawRequest(t, h, "POST", "/parties/room/rebind", "rebind.evil.example:"+port,
		map[string]string{"Origin": "http://rebind.evil.example:" + port}, "x"); got != 403 {
		t.Errorf("rebinding POST: %d, want 403", got)
	}
	if _, body := h.get("/parties/room/rebind"); body != fmt.Sprint(served+1) {
		t.Errorf("the object ran %s times, want %d: a refused request reached it", body, served+1)
	}
}

// TestAbuseCrossSiteRequests (finding 9): a browser page of another origin cannot
// change state over plain HTTP: POST, PUT, PATCH and DELETE (text/plain forms
// included) get 403 when Sec-Fetch-Site says cross-site or same-site, or when the
// Origin is not the server's; same-origin pages, allow-listed origins and clients
// that send neither header (curl, servers) are served, as are safe methods. Before,
// every one of them reached the object.
func TestAbuseCrossSiteRequests(t *testing.T) {
	h := start(t, server.Config{AllowedOrigins: []string{"https://app.example"}}, object.Config{})
	self := "http://" + h.addr
	cases := []struct {
		method string
		hdr    map[string]string
		want   int
	}{
		{"POST", map[string]string{"Origin": "https://evil.example", "Content-Type": "text/plain"}, 403},
		{"POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403},
		{"POST", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:1"}, 403},
		{"PUT", map[string]string{"Origin": "https://evil.example"}, 403},
		{"PATCH", map[string]string{"Origin": "null"}, 403},
		{"DELETE", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"POST", map[string]string{"Origin": self, "Sec-Fetch-Site": "same-origin"}, 200},
		{"POST", map[string]string{"Origin": self}, 200},
		{"POST", map[string]string{"Sec-Fetch-Site": "none"}, 200}, // typed by the user
		{"POST", map[string]string{"Origin": "https://app.example", "Sec-Fetch-Site": "cross-site"}, 200},
		{"POST", nil, 200}, // curl
		{"GET", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 200},
	}
	served := 0
	for _, c := range cases {
		got := rawRequest(t, h, c.method, "/parties/room/csrf", h.addr, c.hdr, "payload")
		if got != c.want {
			t.Errorf("%s %v: %d, want %d", c.method, c.hdr, got, c.want)
		}
		if got == 200 {
			served++
		}
	}
	if _, body := h.get("/parties/room/csrf"); body != fmt.Sprint(served+1) {
		t.Errorf("the object ran %s times, want %d: a refused request reached it", body, served+1)
	}
	if v := h.metric("warren_requests_refused_total"); v < 6 {
		t.Errorf("warren_requests_refused_total = %v, want ≥ 6", v)
	}
}
