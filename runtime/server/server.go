// Package server hosts an object.Runtime in a process: it routes HTTP requests and
// WebSockets to objects, serves an app's static front end, and exposes health and
// metrics. It is the only package that knows echo and gorilla/websocket.
//
// Routes:
//
//	/parties/<namespace>/<name>[/...]  HTTP requests go to the object's ServeHTTP (one
//	                                    turn, response after commit); WebSocket upgrades
//	                                    connect a socket (PartyKit-compatible: the
//	                                    connection ID is ?_pk=, generated when absent);
//	                                    404, creating nothing, when the type has no such
//	                                    handler or the namespace is object.ExistingOnly
//	                                    and the object does not exist
//	/healthz                           200 "ok" while serving, 503 while shutting down
//	/_warren/                          the admin API and inspector (package admin), off
//	                                    unless Config.Admin has a token
//	/metrics                           Prometheus text format; with Config.MetricsToken
//	                                    (env WARREN_METRICS_TOKEN) only for requests with
//	                                    "Authorization: Bearer <token>", 401 otherwise
//	anything else                      Config.Assets, with index.html for unknown paths
//	                                    (single-page apps)
//
// <name> is path-escaped UTF-8 of 1 to 256 bytes; it is hashed into the object's ID
// (object.Namespace.IDFromName), so it never reaches the file system. Malformed names
// and connection IDs get 400, unknown namespaces 404, cross-origin upgrades 403, too
// many connections from one address 429 and a full object 503.
//
// In cluster mode (Config.Routing) any node accepts any request under /parties/: one
// for an object another node serves is proxied there, WebSocket upgrades included
// (see Routing for what a client can and cannot make of the routing headers).
//
// Every request is checked before it is routed, so every app gets the same bounds:
// a Host that is not an IP address, localhost or a name of Config.AllowedHosts gets
// 403 (DNS rebinding); a state-changing request (POST, PUT, PATCH, DELETE) from a
// browser page of another origin gets 403 (cross-site request forgery; clients that
// send neither Origin nor Sec-Fetch-Site, such as curl, are not browsers and pass);
// request bodies count against a per-address and a process-wide budget (429, 503)
// and must arrive within Config.ReadTimeout (408). Serve also bounds connections:
// Config.MaxConnsPerIP in all (HTTP and WebSocket), and idle keep-alive ones are
// closed after Config.IdleTimeout.
//
// WebSockets guarantee: a received message over Config.MaxMessageSize closes the socket
// with 1009; a peer whose connection vanishes without a close frame produces OnClose
// (code 1006) within Config.PingInterval + Config.PongTimeout (30 s by default); a
// slow consumer is closed with 1013 (see object.SocketConfig); Shutdown closes every
// socket with 1012 so that clients reconnect.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/warrenhq/warren/runtime/admin"
	"github.com/warrenhq/warren/runtime/internal/wshost"
	"github.com/warrenhq/warren/runtime/object"
)

// Config configures a Server. The zero value of every field is usable.
type Config struct {
	// Logger receives request and connection logs. Default: the runtime's logger.
	Logger *slog.Logger
	// Assets is the static front end served at / (e.g. an embed.FS sub-tree holding
	// index.html). Unknown paths without a file extension get index.html. Nil serves none.
	Assets fs.FS
	// AllowedHosts lists the host names (without port) a request's Host header may
	// carry besides IP addresses and localhost names, which are always accepted: "*"
	// accepts any, "*.example.com" the subdomains of example.com. A request for
	// another name gets 403: a page of another site that had its own name resolve to
	// this server (DNS rebinding) still sends that name. /healthz is exempt. Run adds
	// the listen address's host name and reads WARREN_ALLOWED_HOSTS (-allowed-hosts).
	AllowedHosts []string
	// AllowedOrigins lists the Origin header values (e.g. "https://example.com") whose
	// pages may open WebSockets and send state-changing requests (POST, PUT, PATCH,
	// DELETE), besides the server's own origin (http://<Host>, https://<Host> over
	// TLS); "*" allows any. Requests without an Origin header (non-browser clients)
	// are always allowed. Behind a TLS-terminating proxy, list the public https origin.
	// Run reads WARREN_ALLOWED_ORIGINS (-allowed-origins).
	AllowedOrigins []string
	// MaxMessageSize bounds a received WebSocket message; a larger one closes the socket
	// with 1009. Default DefaultMaxMessageSize.
	MaxMessageSize int64
	// MaxConnsPerIP bounds the TCP connections open from one client address (the TCP
	// peer, proxies are not trusted; an IPv6 client counts by its /64): HTTP
	// connections, kept alive or not, and WebSockets alike. One more is answered 429
	// and closed. Default DefaultMaxConnsPerIP, or a quarter of the process's
	// open-file limit if that is lower. Enforced by Serve (a Server used as a plain handler counts nothing).
	MaxConnsPerIP int
	// ReadHeaderTimeout bounds the arrival of a request's headers. Default
	// DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the arrival of a whole request, headers and body; a body
	// still incomplete then is answered 408. WebSockets are not affected once
	// upgraded. Default DefaultReadTimeout.
	ReadTimeout time.Duration
	// IdleTimeout is how long a kept-alive connection may wait for its next request
	// before it is closed. Default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxBodyBytes bounds the request body bytes held at once by the whole process
	// (being received, or reserved by a Content-Length, until the request is
	// answered); a request beyond it gets 503 with Retry-After. Default
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxBodyBytesPerIP bounds the same per client address; beyond it 429. Default
	// DefaultMaxBodyBytesPerIP.
	MaxBodyBytesPerIP int64
	// PingInterval is how often a protocol ping goes to each socket. Default
	// DefaultPingInterval.
	PingInterval time.Duration
	// PongTimeout is how long a pong may take. A peer that vanished is closed (1006)
	// within PingInterval+PongTimeout of its last pong. Default DefaultPongTimeout.
	PongTimeout time.Duration
	// WriteTimeout bounds one frame write to a socket, and the writing of an HTTP
	// response from its first byte. Default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// WriteHold paces a busy socket's writes: a socket just written waits up to
	// WriteHold before its next write, which carries every frame queued meanwhile
	// (one system call instead of one per frame, for the server and for its peer).
	// A socket not written within the last WriteHold writes its next frame at once,
	// so this only delays frames that follow another within WriteHold, by at most
	// WriteHold. Default DefaultWriteHold; negative writes every frame as soon as it can.
	WriteHold time.Duration
	// ShutdownTimeout bounds Shutdown when Serve's context ends. Default
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// MetricsToken, when set, protects /metrics: a request must carry
	// "Authorization: Bearer <MetricsToken>" (compared in constant time) or it gets 401.
	// Empty (the default) leaves /metrics open. Run and Main read it from the
	// WARREN_METRICS_TOKEN environment variable when App.Server leaves it empty.
	MetricsToken string
	// Admin configures the admin API and inspector at /_warren/ (package admin): off
	// unless Admin.Token is set. Run and Main read WARREN_ADMIN_TOKEN (or
	// -admin-token-file), -admin-remote (WARREN_ADMIN_REMOTE=1) and -backup-dir
	// (WARREN_BACKUP_DIR) into it.
	Admin admin.Config
	// Routing makes the server one node of a cluster: requests for objects other
	// nodes serve are proxied to them (see Routing). Nil (the default) serves every
	// object here, as a single process. New panics on an incomplete Routing.
	Routing *Routing
}

// The defaults of Config's fields (a zero field gets its default).
const (
	DefaultMaxMessageSize    = 1 << 20 // 1 MiB
	DefaultMaxConnsPerIP     = 1024
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxBodyBytes      = 64 << 20 // 64 MiB
	DefaultMaxBodyBytesPerIP = 8 << 20  // 8 MiB
	DefaultPingInterval      = 20 * time.Second
	DefaultPongTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultWriteHold         = 2 * time.Millisecond
)

func (c Config) withDefaults(rt *object.Runtime) Config {
	if c.Logger == nil {
		c.Logger = rt.Logger()
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.MaxConnsPerIP <= 0 {
		c.MaxConnsPerIP = defaultMaxConnsPerIP()
	}
	defd := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	defd(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	defd(&c.ReadTimeout, DefaultReadTimeout)
	defd(&c.IdleTimeout, DefaultIdleTimeout)
	defd(&c.PingInterval, DefaultPingInterval)
	defd(&c.PongTimeout, DefaultPongTimeout)
	defd(&c.WriteTimeout, DefaultWriteTimeout)
	defd(&c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.WriteHold == 0 {
		c.WriteHold = DefaultWriteHold
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxBodyBytesPerIP <= 0 {
		c.MaxBodyBytesPerIP = DefaultMaxBodyBytesPerIP
	}
	return c
}

// MaxNameLen bounds an object name in a URL, in bytes.
const MaxNameLen = 256

// MaxConnIDLen bounds a connection ID (?_pk=), in bytes.
const MaxConnIDLen = 128

// Server routes HTTP and WebSockets to the objects of one runtime.
type Server struct {
	rt    *object.Runtime
	cfg   Config
	log   *slog.Logger
	e     *echo.Echo
	up    *websocket.Upgrader
	flush *flushers
	hold  *holder // nil when Config.WriteHold is negative
	pings *pinger
	http  *http.Server

	hosts    *hostPolicy
	bodies   *bodyBudget
	arriving arrivingBodies

	mu      sync.Mutex
	parties map[string]object.Endpoint
	extra   []Metric

	conns           atomic.Pointer[connLimiter] // set by Serve
	sockets         sync.WaitGroup              // WebSocket handlers running
	stopping        atomic.Bool
	writes          atomic.Int64 // write system calls to WebSockets (sockwrite.go)
	refused         atomic.Int64 // upgrades refused by the origin check
	refusedRequests atomic.Int64 // requests refused by the host, cross-site or body checks

	// cluster routing (route.go, proxy.go); route is nil for a single process
	route        *Routing
	proxyHandler http.Handler
	tunnels      tunnels
	proxied      atomic.Int64 // requests sent to another node
	misdirected  atomic.Int64 // routed requests answered 421
	routeRetries atomic.Int64 // requests located again after a 421 or an unreachable owner
}

// New returns a Server for rt with no namespaces mounted.
func New(rt *object.Runtime, cfg Config) *Server {
	cfg = cfg.withDefaults(rt)
	s := &Server{rt: rt, cfg: cfg, log: cfg.Logger, parties: map[string]object.Endpoint{},
		hosts: newHostPolicy(cfg, cfg.Logger), bodies: newBodyBudget(cfg.MaxBodyBytes, cfg.MaxBodyBytesPerIP)}
	s.up, s.flush, s.pings = s.newUpgrader(), newFlushers(), newPinger(cfg.PingInterval)
	if cfg.Routing != nil {
		cfg.Routing.check()
		s.route = cfg.Routing
		s.proxyHandler = s.newProxy()
	}
	if cfg.WriteHold > 0 {
		s.hold = newHolder(cfg.WriteHold, s.flush)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Any("/parties/*", s.handleParty)
	e.GET("/healthz", s.handleHealth)
	e.GET("/metrics", s.handleMetrics)
	s.mountAdmin(e)
	e.Any("/*", s.handleAssets)
	s.e = e
	return s
}

// Mount makes a namespace reachable at /parties/<name>/... . It fails if a namespace
// of that name is already mounted.
func (s *Server) Mount(ep object.Endpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.parties[ep.Name()]; dup {
		return fmt.Errorf("server: namespace %q mounted twice", ep.Name())
	}
	s.parties[ep.Name()] = ep
	return nil
}

// Handle adds a route of the app's own (e.g. "/api/rooms") for every method. Routes
// under /parties/, /healthz and /metrics are taken.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.e.Any(pattern, echo.WrapHandler(h))
}

// ServeHTTP checks one request (Host, cross-site, body budget; see Config) and
// routes it; a Server is an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.guard(w, r, s.e) }

// Runtime returns the runtime the server hosts.
func (s *Server) Runtime() *object.Runtime { return s.rt }

// Serve accepts connections on ln until ctx ends, then shuts down gracefully (see
// Shutdown) within Config.ShutdownTimeout. It returns nil after a clean shutdown.
// It bounds connections as Config says: MaxConnsPerIP, ReadHeaderTimeout,
// ReadTimeout and IdleTimeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	limited := newConnLimiter(ln, s.cfg.MaxConnsPerIP)
	s.conns.Store(limited)
	s.mu.Lock()
	s.http = &http.Server{Handler: s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		// ReadTimeout leaves upgraded WebSockets alone: net/http clears the deadline
		// once a request's body is read (at once for an upgrade, which has none) and
		// the socket sets its own per read (PingInterval+PongTimeout).
		ReadTimeout: s.cfg.ReadTimeout,
		IdleTimeout: s.cfg.IdleTimeout,
		// acceptRoute finds a request's connection here (a peer node's is exempt
		// from MaxConnsPerIP).
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	srv := s.http
	s.mu.Unlock()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(limited) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := s.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// Shutdown stops accepting connections, waits for HTTP requests in progress (their
// turns finish and commit), closes every WebSocket with 1012 (service restart) and
// waits for their connections to end, or for ctx. A request body still arriving
// halfway to ctx's deadline (Config.ShutdownTimeout without one) is cut off there and
// answered 408, so that a slow client cannot hold the shutdown to its end. It does
// not close the runtime.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopping.Store(true)
	grace := s.cfg.ShutdownTimeout / 2
	if d, ok := ctx.Deadline(); ok {
		grace = time.Until(d) / 2
	}
	s.arriving.cut(time.Now().Add(grace))
	s.mu.Lock()
	srv := s.http
	s.mu.Unlock()
	done := make(chan error, 1)
	if srv != nil {
		go func() { done <- srv.Shutdown(ctx) }()
	} else {
		done <- nil
	}
	s.rt.CloseSockets(object.CloseServiceRestart, "service restart")
	s.tunnels.closeAll()
	waited := make(chan struct{})
	go func() { s.sockets.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		return fmt.Errorf("server: shutdown: sockets still open: %w", ctx.Err())
	}
	return <-done
}

func (s *Server) handleHealth(c echo.Context) error {
	if s.stopping.Load() {
		return c.String(http.StatusServiceUnavailable, "shutting down\n")
	}
	return c.String(http.StatusOK, "ok\n")
}

// ParsePartyPath splits an escaped request path /parties/<namespace>/<name>[/rest]
// into the namespace and the unescaped object name. It fails with a message fit for
// a 400 response.
func ParsePartyPath(escaped string) (namespace, name string, err error) {
	rest, ok := strings.CutPrefix(escaped, "/parties/")
	if !ok {
		return "", "", errors.New("path must be /parties/<namespace>/<name>")
	}
	ns, rawName, _ := strings.Cut(rest, "/")
	if i := strings.IndexByte(rawName, '/'); i >= 0 {
		rawName = rawName[:i]
	}
	if ns == "" || rawName == "" {
		return "", "", errors.New("path must be /parties/<namespace>/<name>")
	}
	ns, err = url.PathUnescape(ns)
	if err != nil {
		return "", "", fmt.Errorf("bad namespace escape: %v", err)
	}
	name, err = url.PathUnescape(rawName)
	if err != nil {
		return "", "", fmt.Errorf("bad name escape: %v", err)
	}
	if err := ValidName(name); err != nil {
		return "", "", err
	}
	return ns, name, nil
}

// belowParty returns r with its URL path cut to what follows /parties/<ns>/<name>
// ("/" when nothing does), so that an object's handler, an http.ServeMux in
// particular, routes on its own paths. The query is kept.
func belowParty(r *http.Request) (*http.Request, error) {
	rest, _ := strings.CutPrefix(r.URL.EscapedPath(), "/parties/")
	_, rest, _ = strings.Cut(rest, "/") // past the namespace
	_, rest, _ = strings.Cut(rest, "/") // past the name
	raw := "/" + rest
	p, err := url.PathUnescape(raw)
	if err != nil {
		return nil, fmt.Errorf("bad path escape: %v", err)
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = new(url.URL)
	*r2.URL = *r.URL
	r2.URL.Path, r2.URL.RawPath = p, ""
	if raw != (&url.URL{Path: p}).EscapedPath() {
		r2.URL.RawPath = raw
	}
	return r2, nil
}

// ValidName checks an object name from a URL: 1 to MaxNameLen bytes of valid UTF-8.
func ValidName(name string) error {
	switch {
	case name == "":
		return errors.New("empty object name")
	case len(name) > MaxNameLen:
		return fmt.Errorf("object name of %d bytes, at most %d", len(name), MaxNameLen)
	case !utf8.ValidString(name):
		return errors.New("object name is not valid UTF-8")
	}
	return nil
}

// ValidConnID checks a connection ID (?_pk=): 1 to MaxConnIDLen bytes of printable
// UTF-8 (no control characters).
func ValidConnID(id string) error {
	if id == "" || len(id) > MaxConnIDLen {
		return fmt.Errorf("connection id (_pk) must have 1 to %d bytes", MaxConnIDLen)
	}
	if !utf8.ValidString(id) {
		return errors.New("connection id (_pk) is not valid UTF-8")
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return errors.New("connection id (_pk) has control characters")
		}
	}
	return nil
}

func newConnID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) handleParty(c echo.Context) error {
	w, r := c.Response(), c.Request()
	nsName, name, err := ParsePartyPath(r.URL.EscapedPath())
	if err != nil {
		return c.String(http.StatusBadRequest, err.Error()+"\n")
	}
	s.mu.Lock()
	ep := s.parties[nsName]
	s.mu.Unlock()
	if ep == nil {
		return c.String(http.StatusNotFound, fmt.Sprintf("no namespace %q\n", nsName))
	}
	if s.route != nil {
		if body, ok := readPartyBytes(w, r); ok {
			s.serveClustered(w, r, ep, nsName, name, body)
		}
		return nil
	}
	if !isUpgrade(r) {
		below, err := belowParty(r)
		if err != nil {
			return c.String(http.StatusBadRequest, err.Error()+"\n")
		}
		if readPartyBody(w, below) {
			ep.ServeObject(w, below, name)
		}
		return nil
	}
	s.serveSocket(w, r, ep, name, false, false)
	return nil
}

// isUpgrade reports whether r asks for a WebSocket.
func isUpgrade(r *http.Request) bool { return websocket.IsWebSocketUpgrade(r) }

// serveSocket connects a WebSocket to the object named name. It returns the error
// that refused the socket, if any; with passElsewhere, an *object.ElsewhereError is
// returned with nothing written, for the caller to route the request. With
// relocate (a cluster node serving an endpoint that chooses its object itself), the
// object the endpoint reserved the socket for is located before the upgrade: when
// another node serves it, the reservation is released and the socket refused as
// elsewhere.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request, ep object.Endpoint, name string, passElsewhere, relocate bool) error {
	if s.stopping.Load() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return nil
	}
	if !s.originOK(r) {
		s.refused.Add(1)
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return nil
	}
	connID := r.URL.Query().Get("_pk")
	if connID == "" {
		connID = newConnID()
	} else if err := ValidConnID(connID); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil
	}
	hs, err := ep.AcceptSocket(r, name, connID)
	if err == nil && relocate {
		ns, id := hs.Object()
		if err = s.route.Locate(r.Context(), ns, id); err != nil {
			wshost.Of(hs).Closed(object.CloseAbnormal, "", false) // releases the reservation
		}
	}
	if err != nil {
		if passElsewhere && errors.As(err, new(*object.ElsewhereError)) {
			return err
		}
		code, msg := object.HTTPStatus(err)
		if errors.Is(err, object.ErrTooManySockets) {
			code = http.StatusServiceUnavailable
		}
		http.Error(w, msg, code)
		return err
	}
	s.sockets.Add(1)
	c := &conn{s: s, hs: wshost.Of(hs), code: object.CloseAbnormal, upgraded: make(chan struct{}), wdone: make(chan struct{})}
	done := make(chan struct{})
	// The connection lives in a goroutine of its own, and this handler returns once
	// the upgrade is done: net/http's goroutine, its deep stack and its buffers for
	// the connection are then freed, so an idle socket costs far less memory.
	go s.serveConn(w, r, c, done)
	select {
	case <-c.upgraded:
	case <-done:
	}
	return nil
}
