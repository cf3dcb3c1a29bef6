// Package clientaddr names the client of a connection as the per-address limits count
// it, for runtime/server (connections, bodies) and runtime/object (queue shares) alike.
package clientaddr

import (
	"net"
	"net/netip"
)

// Key is the client of a "host:port" peer address (http.Request.RemoteAddr): its IP,
// an IPv6 address by its /64 prefix (one subscriber's usual allocation: a client
// cannot multiply its quota by picking addresses of its own network). An address that
// does not parse is its own key.
func Key(addr string) string {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return addr
		}
		return host
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() && !ip.IsLoopback() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
