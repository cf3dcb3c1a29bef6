package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// The entry node's side of routing (see Routing): a reverse proxy to the owner for
// HTTP requests and WebSocket upgrades, whose tunnels Shutdown closes.

// errMisdirected is a 421 from the owner, for the proxy's ErrorHandler.
var errMisdirected = errors.New("server: the node no longer serves the object")

type attemptKey struct{}

// proxyAttempt is one try of a request at the owner: where it goes, and what came of
// it when nothing was written to the client.
type proxyAttempt struct {
	addr  string
	last  bool // no retry after this one: answer the client whatever happens
	retry bool // set by the proxy: locate again and retry
}

// newProxy returns the reverse proxy that carries routed requests. Its transport
// bounds the dial (3 s), notices a vanished owner's connection within about 20 s of
// silence (TCP keep-alive), and waits for a response's header at most twice the turn
// time limit (a request waits for its turn, then for its commit).
func (s *Server) newProxy() *httputil.ReverseProxy {
	dialer := &net.Dialer{Timeout: 3 * time.Second,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 5 * time.Second, Count: 3}}
	tr := &http.Transport{
		DialContext:           dialer.DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       s.cfg.IdleTimeout,
		ResponseHeaderTimeout: 2*s.rt.Config().TurnTimeout + 10*time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			a := pr.In.Context().Value(attemptKey{}).(*proxyAttempt)
			pr.SetURL(&url.URL{Scheme: "http", Host: a.addr})
			pr.Out.Host = pr.In.Host // the object sees the Host its client used
			pr.SetXForwarded()       // X-Forwarded-For: exactly the client's IP
			pr.Out.Header.Set(HeaderRouted, s.route.Node)
			pr.Out.Header.Set(headerRouteToken, s.route.Token)
		},
		Transport: tr,
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode == http.StatusMisdirectedRequest {
				return errMisdirected
			}
			return nil
		},
		ErrorHandler: s.proxyError,
		ErrorLog:     slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// proxyError answers a proxied request that got no usable response, or marks it for
// a retry: a 421, or an owner that could not be reached (the request never left).
func (s *Server) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	a := r.Context().Value(attemptKey{}).(*proxyAttempt)
	unreachable := isDialError(err)
	switch {
	case (unreachable || errors.Is(err, errMisdirected)) && !a.last:
		a.retry = true
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// the client went away
	case unreachable || errors.Is(err, errMisdirected):
		w.Header().Set("Retry-After", "1")
		http.Error(w, "the object's node cannot be reached now; retry shortly", http.StatusServiceUnavailable)
	default:
		s.log.Warn("server: proxied request failed", "addr", a.addr, "path", r.URL.Path, "err", err)
		http.Error(w, "the object's node did not answer", http.StatusBadGateway)
	}
}

// isDialError reports whether err is a failure to connect (nothing was sent).
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// proxy sends r to the node el names. It reports true, having written nothing, when
// the request should be located again and retried (never when last is set).
func (s *Server) proxy(w http.ResponseWriter, r *http.Request, el *object.ElsewhereError, last bool) bool {
	if el.Addr == "" {
		if last {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "the object's node has no address; retry shortly", http.StatusServiceUnavailable)
		}
		return !last
	}
	if isUpgrade(r) {
		if s.stopping.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return false
		}
		if !s.hosts.originOK(r) {
			s.refused.Add(1)
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return false
		}
		w = &tunnelWriter{ResponseWriter: w, t: &s.tunnels}
	}
	a := &proxyAttempt{addr: el.Addr, last: last}
	s.proxied.Add(1)
	s.proxyHandler.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), attemptKey{}, a)))
	return a.retry
}

// withBody returns r with a fresh reader of body (a request read in full already), so
// that it can be sent again.
func withBody(r *http.Request, body []byte) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	if body == nil {
		r2.Body, r2.ContentLength = http.NoBody, 0
	} else {
		r2.Body, r2.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	}
	return r2
}

// tunnels are the client connections of proxied WebSockets, which net/http no longer
// tracks once hijacked: Shutdown closes them (the clients reconnect, to a node that
// still serves).
type tunnels struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

func (t *tunnels) add(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return false
	}
	if t.conns == nil {
		t.conns = map[net.Conn]struct{}{}
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *tunnels) remove(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

func (t *tunnels) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

// closeAll closes every tunnel and refuses new ones.
func (t *tunnels) closeAll() {
	t.mu.Lock()
	t.done = true
	conns := t.conns
	t.conns = nil
	t.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

// tunnelWriter records the connection the reverse proxy hijacks for a WebSocket.
type tunnelWriter struct {
	http.ResponseWriter
	t *tunnels
}

func (w *tunnelWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	c.SetDeadline(time.Time{}) // the tunnel's ends ping each other: no deadline here
	tc := &tunnelConn{Conn: c, t: w.t}
	if !w.t.add(tc) {
		c.Close()
	}
	return tc, brw, nil
}

// Unwrap lets http.ResponseController reach the connection.
func (w *tunnelWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type tunnelConn struct {
	net.Conn
	t *tunnels
}

func (c *tunnelConn) Close() error {
	c.t.remove(c)
	return c.Conn.Close()
}
