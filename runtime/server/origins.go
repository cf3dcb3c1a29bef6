package server

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// hostPolicy decides which Host headers and Origins a server accepts: the defense
// against DNS rebinding (a page of another site whose name was made to resolve to
// this server sends its own name as Host) and against cross-site requests.
type hostPolicy struct {
	anyHost    bool
	hosts      map[string]bool // exact names, lower case
	suffixes   []string        // from "*.example.com": ".example.com"
	anyOrigin  bool
	origins    map[string]bool // lower case
	crossCheck *http.CrossOriginProtection
}

func newHostPolicy(cfg Config, log *slog.Logger) *hostPolicy {
	p := &hostPolicy{hosts: map[string]bool{}, origins: map[string]bool{}, crossCheck: http.NewCrossOriginProtection()}
	for _, h := range cfg.AllowedHosts {
		h = normalHost(h)
		switch {
		case h == "*":
			p.anyHost = true
		case strings.HasPrefix(h, "*."):
			p.suffixes = append(p.suffixes, h[1:])
		case h != "":
			p.hosts[h] = true
		}
	}
	for _, o := range cfg.AllowedOrigins {
		if o == "*" {
			p.anyOrigin = true
			continue
		}
		o = strings.ToLower(strings.TrimSuffix(o, "/"))
		if err := p.crossCheck.AddTrustedOrigin(o); err != nil {
			log.Warn("server: allowed origin ignored", "origin", o, "err", err)
			continue
		}
		p.origins[o] = true
	}
	return p
}

// normalHost lower-cases a host name and drops a trailing dot and brackets.
func normalHost(h string) string {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
}

// hostOK reports whether the Host header names this server: an IP address (no DNS
// name, so nothing to rebind), localhost or a name under .localhost (RFC 6761:
// browsers resolve them to loopback themselves), or a name of Config.AllowedHosts.
// An empty Host (HTTP/1.0 clients) is not a browser's and is accepted.
func (p *hostPolicy) hostOK(hostport string) bool {
	if p.anyHost || hostport == "" {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = normalHost(host)
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || p.hosts[host] {
		return true
	}
	for _, s := range p.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// originOK is the WebSocket Origin check of s: a request routed from a peer node
// passes (its entry node checked it), others as hostPolicy.originOK says.
func (s *Server) originOK(r *http.Request) bool {
	return routedFrom(r) != "" || s.hosts.originOK(r)
}

// originOK is the WebSocket Origin check: no Origin (not a browser), an origin of
// Config.AllowedOrigins, or the server's own origin: the scheme of this connection
// (http, or https over TLS) and exactly the Host the request was sent to.
func (p *hostPolicy) originOK(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || p.anyOrigin || p.origins[strings.ToLower(origin)] {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.User != nil || u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(u.Scheme, scheme) && strings.EqualFold(u.Host, r.Host)
}

// crossSiteError reports why a state-changing request (POST, PUT, PATCH, DELETE, ...)
// from a browser page of another origin is refused (nil when it is not): see
// net/http.CrossOriginProtection. Sec-Fetch-Site decides, else the Origin against the
// Host; a request with neither header is no browser's and passes (curl, servers).
func (p *hostPolicy) crossSiteError(r *http.Request) error {
	if p.anyOrigin {
		return nil
	}
	if err := p.crossCheck.Check(r); err != nil {
		return fmt.Errorf("cross-origin %s refused (Origin %q, Sec-Fetch-Site %q): a page of another origin may not change state here; allow its origin with -allowed-origins (WARREN_ALLOWED_ORIGINS)",
			r.Method, r.Header.Get("Origin"), r.Header.Get("Sec-Fetch-Site"))
	}
	return nil
}
