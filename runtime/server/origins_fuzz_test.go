package server

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// FuzzHostPolicy: the Host and Origin checks (issue 14, finding 11) accept a Host
// only if it is an IP address, a localhost name or an allowed name, and an Origin
// only if it is listed or exactly http://<Host>; nothing panics.
func FuzzHostPolicy(f *testing.F) {
	for _, s := range [][2]string{
		{"127.0.0.1:8787", "http://127.0.0.1:8787"},
		{"rebind.evil.example", "http://rebind.evil.example"},
		{"localhost", "https://localhost"},
		{"[::1]:80", "ftp://[::1]:80"},
		{"dash.example", "http://user@dash.example"},
		{"a.localhost.", "null"},
		{"x.corp.example:1", "http://x.corp.example:1/"},
		{"", ""},
	} {
		f.Add(s[0], s[1])
	}
	p := newHostPolicy(Config{AllowedHosts: []string{"dash.example", "*.corp.example"}, AllowedOrigins: []string{"https://app.example"}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.Fuzz(func(t *testing.T, host, origin string) {
		if p.hostOK(host) && host != "" {
			name := host
			if h, _, err := net.SplitHostPort(host); err == nil {
				name = h
			}
			name = normalHost(name)
			_, ipErr := netip.ParseAddr(name)
			if ipErr != nil && name != "localhost" && !strings.HasSuffix(name, ".localhost") && name != "dash.example" && !strings.HasSuffix(name, ".corp.example") {
				t.Fatalf("Host %q accepted", host)
			}
		}
		r := &http.Request{Host: host, Header: http.Header{"Origin": {origin}}}
		if p.originOK(r) && origin != "" && !strings.EqualFold(origin, "https://app.example") {
			u, err := url.Parse(origin)
			if err != nil || !strings.EqualFold(u.Scheme, "http") || !strings.EqualFold(u.Host, host) || u.User != nil {
				t.Fatalf("Origin %q accepted for Host %q", origin, host)
			}
		}
		r.Method = http.MethodPost
		p.crossSiteError(r) //nolint:errcheck // must not panic
	})
}
