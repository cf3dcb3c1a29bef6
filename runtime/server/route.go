package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// Routing makes a Server one node of a cluster (Config.Routing): any node accepts a
// request under /parties/, and one for an object that another node serves is
// proxied there (HTTP requests and WebSocket upgrades alike), marked with
// HeaderRouted. Guarantees:
//
//   - A request counts as routed only when it carries Token (constant-time compared);
//     the routing headers and the token are removed from every request before an
//     object sees it, so a client cannot forge a route, and a header a client sends
//     bypasses nothing.
//   - The entry node applies the checks (Host, cross-site, Origin, body budget and
//     size, connection limits) to the client; the owner skips Host and Origin for a
//     routed request and counts it against the client's address, taken from
//     X-Forwarded-For, which it trusts only on a routed request. A connection that
//     carried a routed request no longer counts against its address's MaxConnsPerIP
//     (a node proxies many clients' sockets).
//   - A routed request for an object this node does not serve gets 421 Misdirected
//     Request: a node never proxies twice. The entry node then locates the object
//     again and retries, routeAttempts times over about half a second, and for as
//     long as RetryFor; it also retries when the owner cannot be reached at all
//     (nothing was sent). A request the owner may have received is never sent
//     twice: a connection lost after the request went out answers 502.
type Routing struct {
	// Node is this node's name, the value of HeaderRouted on the requests it proxies.
	Node string
	// Token authenticates the requests nodes proxy to each other: the same secret on
	// every node of the cluster, at least 16 bytes. Required.
	Token string
	// Locate says where the object is served: nil for this node; an error for which
	// errors.As(err, new(*object.ElsewhereError)) holds for another node, reached at
	// its Addr (host:port); any other error when it cannot tell (503). It is called
	// again after a 421, so it must not answer from a cache that the 421 proved stale.
	// Required.
	Locate func(ctx context.Context, namespace string, id object.ID) error
	// RetryFor is how long the entry node keeps trying (locating again, backing
	// off) a request it could not serve yet because the owner could not be reached
	// or moved, before it answers 503. A killed owner's objects move once its lease
	// ran out: a RetryFor past the lease serves a request made meanwhile then,
	// instead of refusing it. Zero: routeAttempts tries (about half a second).
	RetryFor time.Duration
}

// HeaderRouted marks a request one node proxied to another; its value names the
// entry node.
const HeaderRouted = "Warren-Routed"

// headerRouteToken carries Routing.Token between nodes.
const headerRouteToken = "Warren-Route-Token"

// routeAttempts bounds the tries of one request at the entry node (locate, then
// serve here or proxy); routeBackoff is the wait before the second, doubling.
const (
	routeAttempts   = 5
	routeBackoff    = 25 * time.Millisecond
	routeBackoffMax = 250 * time.Millisecond
)

func (rt *Routing) check() {
	if len(rt.Token) < 16 || rt.Locate == nil || rt.Node == "" {
		panic("server: Config.Routing needs a Node, a Token of at least 16 bytes and Locate")
	}
}

type routedKey struct{}

// routedFrom is the entry node of a routed request ("" for a client's own).
func routedFrom(r *http.Request) string {
	from, _ := r.Context().Value(routedKey{}).(string)
	return from
}

// acceptRoute strips the routing headers from r and, when r is a routed request
// (its token is Routing.Token), returns it marked as routed (routedFrom), with the
// client's address from X-Forwarded-For as its RemoteAddr; its connection stops
// counting against the peer's address. Without Config.Routing, r is unchanged.
func (s *Server) acceptRoute(r *http.Request) *http.Request {
	if s.route == nil {
		return r
	}
	tok, from, fwd := r.Header.Get(headerRouteToken), r.Header.Get(HeaderRouted), r.Header.Get("X-Forwarded-For")
	r.Header.Del(headerRouteToken)
	r.Header.Del(HeaderRouted)
	if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.route.Token)) != 1 {
		return r
	}
	client, err := netip.ParseAddr(strings.TrimSpace(fwd))
	if from == "" || err != nil {
		return r // a peer always sends both: treat a malformed one as a client's
	}
	if cc, ok := r.Context().Value(connKey{}).(*countedConn); ok {
		cc.exempt()
	}
	r = r.WithContext(context.WithValue(r.Context(), routedKey{}, from))
	r.RemoteAddr = netip.AddrPortFrom(client, 0).String()
	return r
}

// serveClustered serves a request for an object of ep on a cluster node: here when
// Locate says so, else proxied to the owner; retried (bounded) after a 421 or an
// owner that cannot be reached. body is the request's body, read already.
func (s *Server) serveClustered(w http.ResponseWriter, r *http.Request, ep object.Endpoint, nsName, name string, body []byte) {
	id, err := s.rt.IDFromAddress(nsName, name)
	if errors.Is(err, object.ErrNotFound) { // no namespace of that name
		s.serveEndpoint(w, withBody(r, body), ep, name)
		return
	}
	if err != nil {
		code, msg := object.HTTPStatus(err)
		http.Error(w, msg, code)
		return
	}
	routed := routedFrom(r) != ""
	wait, start := routeBackoff, time.Now()
	for attempt := 1; ; attempt++ {
		last := routed || s.lastTry(attempt, start, wait)
		var el *object.ElsewhereError
		var retry bool
		switch err := s.route.Locate(r.Context(), nsName, id); {
		case errors.As(err, &el) && routed:
			s.misdirected.Add(1)
			http.Error(w, fmt.Sprintf("%s/%s is served by node %s, not %s", nsName, name, el.Node, s.route.Node), http.StatusMisdirectedRequest)
			return
		case errors.As(err, &el):
			retry = s.proxy(w, withBody(r, body), el, last)
		case err != nil:
			s.log.Warn("server: cannot locate object", "namespace", nsName, "name", name, "err", err)
			w.Header().Set("Retry-After", "1")
			http.Error(w, "cannot locate the object now; retry shortly", http.StatusServiceUnavailable)
			return
		default:
			retry = s.serveHere(w, withBody(r, body), ep, name, last)
		}
		if !retry {
			return
		}
		if !s.backOff(r.Context(), &wait) {
			return
		}
	}
}

// serveEndpoint serves a request for an endpoint mounted under a name that is no
// namespace's (one that finds its object itself, e.g. from a token): the entry node
// cannot locate that object before the endpoint ran, so the endpoint runs here. Its
// RPC calls reach objects wherever they are served; a socket for an object that
// another node serves (located once the endpoint reserved it, or refused by the
// object as owned elsewhere) is proxied there, where the endpoint runs again (and
// answers 421 if the object moved once more: the entry node retries, as for a
// namespace). An HTTP request is served here, whatever it answers.
func (s *Server) serveEndpoint(w http.ResponseWriter, r *http.Request, ep object.Endpoint, name string) {
	if !isUpgrade(r) {
		below, err := belowParty(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ep.ServeObject(w, below, name)
		return
	}
	routed := routedFrom(r) != ""
	wait, start := routeBackoff, time.Now()
	for attempt := 1; ; attempt++ {
		var el *object.ElsewhereError
		if err := s.serveSocket(w, r, ep, name, !routed, true); !errors.As(err, &el) || routed {
			return
		}
		if !s.proxy(w, r, el, s.lastTry(attempt, start, wait)) {
			return
		}
		if !s.backOff(r.Context(), &wait) {
			return
		}
	}
}

// serveHere serves the request on this node. It reports true, having written
// nothing, when the runtime found the object owned elsewhere after all and last is
// false (the caller locates it again).
func (s *Server) serveHere(w http.ResponseWriter, r *http.Request, ep object.Endpoint, name string, last bool) bool {
	if isUpgrade(r) {
		var el *object.ElsewhereError
		err := s.serveSocket(w, r, ep, name, !last && routedFrom(r) == "", false)
		return errors.As(err, &el)
	}
	below, err := belowParty(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	mw := &misdirectWriter{w: w, header: http.Header{}, swallow: !last && routedFrom(r) == ""}
	ep.ServeObject(mw, below, name)
	return mw.swallowed
}

// misdirectWriter passes a response through unless it is a 421 (the runtime found
// the object owned by another node) and swallow is set: then it drops it, so that
// the entry node can locate the object again and proxy the request.
type misdirectWriter struct {
	w         http.ResponseWriter
	header    http.Header
	swallow   bool
	wrote     bool
	swallowed bool
}

func (m *misdirectWriter) Header() http.Header { return m.header }

func (m *misdirectWriter) WriteHeader(code int) {
	if m.wrote {
		return
	}
	m.wrote = true
	if code == http.StatusMisdirectedRequest && m.swallow {
		m.swallowed = true
		return
	}
	h := m.w.Header()
	for k, v := range m.header {
		h[k] = v
	}
	m.w.WriteHeader(code)
}

func (m *misdirectWriter) Write(b []byte) (int, error) {
	m.WriteHeader(http.StatusOK)
	if m.swallowed {
		return len(b), nil
	}
	return m.w.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (m *misdirectWriter) Unwrap() http.ResponseWriter { return m.w }

// clientIP is the IP of a request's RemoteAddr, for X-Forwarded-For.
func clientIP(remote string) string {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().String()
	}
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

// lastTry reports whether try attempt of a request first tried at start is its last:
// after routeAttempts tries, once the next wait would end past Routing.RetryFor.
func (s *Server) lastTry(attempt int, start time.Time, wait time.Duration) bool {
	return attempt >= routeAttempts && time.Since(start)+wait >= s.route.RetryFor
}

// backOff counts a routing retry and waits *wait before it, doubling *wait (at most
// routeBackoffMax) for the next one; it reports false, at once, when ctx ends first
// (the client went away).
func (s *Server) backOff(ctx context.Context, wait *time.Duration) bool {
	s.routeRetries.Add(1)
	t := time.NewTimer(*wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	*wait = min(2**wait, routeBackoffMax)
	return true
}
