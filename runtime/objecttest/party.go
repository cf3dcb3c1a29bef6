package objecttest

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// PartyPath returns "/parties/<ns>/<name>", the path the server routes to the
// object name of namespace ns, with each escaped as one path segment (so a
// name holding "/", "?" or "%" reaches the object unchanged).
func PartyPath(ns, name string) string {
	return "/parties/" + url.PathEscape(ns) + "/" + url.PathEscape(name)
}

// PartyURL returns the WebSocket URL of the object name of namespace ns on the
// app at base ("http://host:port" as in [Server.URL], or "https://", "ws://",
// "wss://"): ws for http, wss for https. query ("" for none) is appended raw
// after "?", e.g. "_pk=alice&tag=blue".
func PartyURL(base, ns, name, query string) string {
	switch {
	case strings.HasPrefix(base, "http://"), strings.HasPrefix(base, "https://"):
		base = "ws" + strings.TrimPrefix(base, "http")
	}
	u := strings.TrimSuffix(base, "/") + PartyPath(ns, name)
	if query != "" {
		u += "?" + query
	}
	return u
}

// DialTimeout bounds the WebSocket handshake of [DialParty].
const DialTimeout = 3 * time.Second

// DialParty opens a WebSocket to [PartyURL](base, ns, name, query), its
// handshake bounded by ctx and [DialTimeout]. The response is returned also on
// a refused handshake, for its status.
func DialParty(ctx context.Context, base, ns, name, query string) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: DialTimeout}
	return d.DialContext(ctx, PartyURL(base, ns, name, query), nil)
}

// DialParty opens a WebSocket to the object name of namespace ns on this
// server (see [PartyURL] for query), fails the test if it cannot, and closes
// the socket when the test ends.
func (s *Server) DialParty(ns, name, query string) *websocket.Conn {
	s.t.Helper()
	c, resp, err := DialParty(context.Background(), s.URL, ns, name, query)
	if err != nil {
		status := ""
		if resp != nil {
			status = " (" + resp.Status + ")"
		}
		s.t.Fatalf("objecttest: dial %s%s: %v", PartyURL(s.URL, ns, name, query), status, err)
	}
	s.t.Cleanup(func() { c.Close() })
	return c
}
