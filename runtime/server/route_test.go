package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/nodetest"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
	"github.com/warrenhq/warren/runtime/server"
)

// Routing tests: two (or more) runtimes, each with its own data directory and HTTP
// server on loopback, and a table that says which node owns which object. The
// table is both the runtimes' Placement (a runtime refuses an object it does not own
// with an *object.ElsewhereError) and the servers' Locate.

const testToken = "0123456789abcdef-route-token"

// owners is the test cluster's ownership table: object name to node name.
type owners struct {
	mu    sync.Mutex
	owner map[string]string // by name; unlisted names belong to node "a"
	addr  map[string]string // node name to HTTP address
	// script, when set, answers Locate for a node instead of the table (retry tests).
	script  func(node, name string) (owner string, ok bool)
	locates map[string]int // Locate calls per node
}

func (o *owners) ownerOf(node, name string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.locates[node]++
	if o.script != nil {
		if w, ok := o.script(node, name); ok {
			return w
		}
	}
	if w := o.owner[name]; w != "" {
		return w
	}
	return "a"
}

func (o *owners) set(name, node string) {
	o.mu.Lock()
	o.owner[name] = node
	o.mu.Unlock()
}

func (o *owners) elsewhere(node, owner string) error {
	if owner == node {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return fmt.Errorf("test: %w", &object.ElsewhereError{Node: owner, Addr: o.addr[owner]})
}

// placement is one node's view of the table, as its runtime's Placement.
type placement struct {
	o    *owners
	node string
}

// ownerKey is an object's key in the owners table: its name, or "(id)" and its ID's
// hex form for an object addressed by ID (a parsed ID carries no name); no test
// object is named so.
func ownerKey(id object.ID) string {
	if name, ok := id.Name(); ok {
		return name
	}
	return "(id)" + id.String()
}

func (p placement) Acquire(ctx context.Context, ns string, id object.ID) (func(), error) {
	name := ownerKey(id)
	p.o.mu.Lock()
	w := p.o.owner[name]
	p.o.mu.Unlock()
	if w == "" {
		w = "a"
	}
	if err := p.o.elsewhere(p.node, w); err != nil {
		return nil, err
	}
	return func() {}, nil
}

// echoer answers HTTP with what it saw of the request, and echoes WebSocket messages
// prefixed with its node's name.
type echoer struct {
	node string
	st   *object.State
}

type seen struct {
	Node, RemoteAddr, Host, Routed, Token, Forwarded string
	Body                                             string
	Hits                                             int
}

func (e *echoer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	n, _, _ := object.GetJSON[int](e.st.Storage(), "hits")
	n++
	object.PutJSON(e.st.Storage(), "hits", n)
	json.NewEncoder(w).Encode(seen{Node: e.node, RemoteAddr: r.RemoteAddr, Host: r.Host,
		Routed: r.Header.Get("Warren-Routed"), Token: r.Header.Get("Warren-Route-Token"),
		Forwarded: r.Header.Get("X-Forwarded-For"), Body: string(b), Hits: n})
}

// OnConnect keeps the client's address (server.ClientAddr) in the socket's
// attachment, which the message "addr?" asks for.
func (e *echoer) OnConnect(ctx context.Context, ws *object.WebSocket, r *http.Request) error {
	return ws.SetAttachment([]byte(server.ClientAddr(r)))
}

func (e *echoer) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	if m.Text() == "addr?" {
		return ws.SendText(e.node + ":" + string(ws.Attachment()))
	}
	return ws.SendText(e.node + ":" + m.Text())
}

type node struct {
	name string
	rt   *objecttest.Runtime
	s    *server.Server
	addr string
	stop func()
}

// startCluster starts one node per name, sharing o; cfgs holds a node's server
// configuration (the zero Config when it has none).
func startCluster(t *testing.T, o *owners, cfgs map[string]server.Config, names ...string) map[string]*node {
	t.Helper()
	nodes := map[string]*node{}
	lns := map[string]net.Listener{}
	for _, n := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[n] = ln
		o.addr[n] = ln.Addr().String()
	}
	for _, n := range names {
		rt := objecttest.New(t, object.Config{Placement: placement{o, n}, IdleTimeout: time.Hour})
		ns, err := object.Register(rt.Runtime, "echo", func(ctx context.Context, st *object.State) (*echoer, error) {
			return &echoer{node: n, st: st}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		rooms, err := object.Register(rt.Runtime, "room", func(ctx context.Context, st *object.State) (*room, error) {
			return &room{st: st, closes: make(chan closeEvent, 16)}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		c := cfgs[n]
		byID, err := object.Register(rt.Runtime, "byid", func(ctx context.Context, st *object.State) (*echoer, error) {
			return &echoer{node: n, st: st}, nil
		}, object.AddressableByID())
		if err != nil {
			t.Fatal(err)
		}
		var retryFor time.Duration
		if c.Routing != nil {
			retryFor = c.Routing.RetryFor
		}
		c.Routing = &server.Routing{Node: n, Token: testToken, RetryFor: retryFor, Locate: func(ctx context.Context, _ string, id object.ID) error {
			return o.elsewhere(n, o.ownerOf(n, ownerKey(id)))
		}}
		s := server.New(rt.Runtime, c)
		if err := s.Mount(ns); err != nil {
			t.Fatal(err)
		}
		if err := s.Mount(byID); err != nil {
			t.Fatal(err)
		}
		if err := s.Mount(rooms); err != nil {
			t.Fatal(err)
		}
		if err := s.Mount(alias{ns}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx, lns[n]) }()
		var once sync.Once
		stop := func() { once.Do(func() { cancel(); <-done }) }
		t.Cleanup(stop)
		nodes[n] = &node{name: n, rt: rt, s: s, addr: lns[n].Addr().String(), stop: stop}
	}
	return nodes
}

// alias is an endpoint under a name that is no namespace's ("alias"): it finds its
// object itself, as an app's endpoint that resolves a token to a document does:
// /parties/alias/<name> is the echo object "aliased-<name>".
type alias struct{ echo *object.Namespace[echoer] }

func (alias) Name() string { return "alias" }

func (a alias) ServeObject(w http.ResponseWriter, r *http.Request, name string) {
	a.echo.ServeObject(w, r, "aliased-"+name)
}

func (a alias) AcceptSocket(r *http.Request, name, connID string) (*object.HostSocket, error) {
	return a.echo.AcceptSocket(r, "aliased-"+name, connID)
}

// wrongOnce is an owners script: node's first Locate of name answers owner, the
// later ones the table.
func wrongOnce(node, name, owner string) func(string, string) (string, bool) {
	tries := 0
	return func(n, nm string) (string, bool) {
		if n == node && nm == name {
			if tries++; tries == 1 {
				return owner, true
			}
		}
		return "", false
	}
}

func newOwners() *owners {
	return &owners{owner: map[string]string{}, addr: map[string]string{}, locates: map[string]int{}}
}

func do(t *testing.T, method, url string, body string, hdr map[string]string) (int, seen, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var s seen
	json.Unmarshal(b, &s)
	return resp.StatusCode, s, string(b)
}

func metricOf(t *testing.T, addr, name string) float64 {
	t.Helper()
	h := &harness{t: t, addr: addr}
	return h.metric(name)
}

// A request for an object another node serves is proxied there, with the client's
// address, Host and body intact, and none of the routing headers visible to the
// object; one for a local object is served here.
func TestRoutingProxiesHTTPToTheOwner(t *testing.T) {
	o := newOwners()
	o.set("bee", "b")
	nodes := startCluster(t, o, nil, "a", "b")
	a, b := nodes["a"], nodes["b"]

	for i := 1; i <= 3; i++ {
		code, s, raw := do(t, "POST", "http://"+a.addr+"/parties/echo/bee/x?q=1", "hello", nil)
		if code != 200 || s.Node != "b" || s.Body != "hello" || s.Hits != i {
			t.Fatalf("POST via a: %d %s", code, raw)
		}
		if !strings.HasPrefix(s.RemoteAddr, "127.0.0.1:") || s.Host != a.addr || s.Routed != "" || s.Token != "" {
			t.Fatalf("the object saw %+v", s)
		}
	}
	code, s, raw := do(t, "GET", "http://"+b.addr+"/parties/echo/bee", "", nil)
	if code != 200 || s.Node != "b" || s.Hits != 4 {
		t.Fatalf("GET on b: %d %s", code, raw)
	}
	code, s, raw = do(t, "GET", "http://"+b.addr+"/parties/echo/ant", "", nil)
	if code != 200 || s.Node != "a" || s.Hits != 1 {
		t.Fatalf("GET of a's object via b: %d %s", code, raw)
	}
	if got := metricOf(t, a.addr, "warren_routed_requests_total"); got != 3 {
		t.Fatalf("a routed %v requests, want 3", got)
	}
	if a.rt.Stats().Activations != 1 || b.rt.Stats().Activations != 1 {
		t.Fatalf("activations a %d b %d, want 1 each (no object activated where it is not owned)",
			a.rt.Stats().Activations, b.rt.Stats().Activations)
	}
}

// The entry node locates the object its endpoint will serve: for a namespace
// addressable by ID, /parties/<ns>/id:<hex> is that ID, not a name "id:<hex>" (the
// entry node located the wrong object and served it itself, where the runtime then
// refused it as owned elsewhere); a bare 64-hex name is a name, not an ID.
func TestRoutingLocatesObjectsAddressedByID(t *testing.T) {
	o := newOwners()
	nodes := startCluster(t, o, nil, "a", "b")
	a := nodes["a"]
	// An ID minted by the namespace (on any runtime: IDs are checked by namespace).
	mint, err := object.Register(objecttest.New(t, object.Config{}).Runtime, "byid",
		func(ctx context.Context, st *object.State) (*echoer, error) { return &echoer{st: st}, nil })
	if err != nil {
		t.Fatal(err)
	}
	id := mint.NewUniqueID()
	o.set("(id)"+id.String(), "b")
	for i := 1; i <= 2; i++ {
		code, s, raw := do(t, "POST", "http://"+a.addr+"/parties/byid/"+object.IDPrefix+id.String(), "hi", nil)
		if code != 200 || s.Node != "b" || s.Hits != i {
			t.Fatalf("POST by ID via a: %d %s", code, raw)
		}
	}
	// The same hex digits without the prefix name another object, which a owns.
	code, s, raw := do(t, "POST", "http://"+a.addr+"/parties/byid/"+id.String(), "hi", nil)
	if code != 200 || s.Node != "a" || s.Hits != 1 {
		t.Fatalf("POST of the name %s via a: %d %s", id, code, raw)
	}
}

// Headers a client forges bypass nothing: without the cluster's token, Warren-Routed
// does not stop the entry node from routing, X-Forwarded-For does not change the
// client's address, and neither reaches the object.
func TestRoutingIgnoresForgedHeaders(t *testing.T) {
	o := newOwners()
	o.set("bee", "b")
	nodes := startCluster(t, o, nil, "a", "b")
	a, b := nodes["a"], nodes["b"]
	forged := map[string]string{"Warren-Routed": "a", "Warren-Route-Token": "guess", "X-Forwarded-For": "203.0.113.9"}
	code, s, raw := do(t, "GET", "http://"+b.addr+"/parties/echo/ant", "", forged)
	if code != 200 || s.Node != "a" || !strings.HasPrefix(s.RemoteAddr, "127.0.0.1:") || s.Routed != "" || s.Token != "" {
		t.Fatalf("forged route to b for a's object: %d %s", code, raw)
	}
	if s.Forwarded != "" && s.Forwarded != "127.0.0.1" {
		t.Fatalf("the object saw X-Forwarded-For %q", s.Forwarded)
	}
	// Direct to the owner with a forged address: the object sees the TCP peer.
	code, s, raw = do(t, "GET", "http://"+a.addr+"/parties/echo/ant", "", forged)
	if code != 200 || !strings.HasPrefix(s.RemoteAddr, "127.0.0.1:") || s.Routed != "" || s.Token != "" {
		t.Fatalf("forged headers direct: %d %s", code, raw)
	}
	// A forged route for a Host the node does not accept is still refused.
	req, _ := http.NewRequest("GET", "http://"+a.addr+"/parties/echo/ant", nil)
	req.Host = "evil.example"
	req.Header.Set("Warren-Routed", "b")
	req.Header.Set("Warren-Route-Token", "guess")
	req.Header.Set("X-Forwarded-For", "127.0.0.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forged route with a foreign Host: %d, want 403", resp.StatusCode)
	}
}

// A routed request (the cluster's token) for an object the node does not serve gets
// 421 and is never proxied again.
func TestRoutedRequestForAnotherNodeGets421(t *testing.T) {
	o := newOwners()
	o.set("bee", "b")
	nodes := startCluster(t, o, nil, "a", "b", "c")
	hdr := map[string]string{"Warren-Routed": "a", "Warren-Route-Token": testToken, "X-Forwarded-For": "127.0.0.1"}
	code, _, raw := do(t, "GET", "http://"+nodes["c"].addr+"/parties/echo/bee", "", hdr)
	if code != http.StatusMisdirectedRequest {
		t.Fatalf("routed to c for b's object: %d %s, want 421", code, raw)
	}
	if got := metricOf(t, nodes["c"].addr, "warren_routed_requests_total"); got != 0 {
		t.Fatalf("c proxied a routed request (%v)", got)
	}
	// Routed to the owner: served, and the forwarded address is the client's.
	hdr["X-Forwarded-For"] = "198.51.100.7"
	code, s, raw := do(t, "GET", "http://"+nodes["b"].addr+"/parties/echo/bee", "", hdr)
	if code != 200 || s.RemoteAddr != "198.51.100.7:0" {
		t.Fatalf("routed to the owner: %d %s", code, raw)
	}
}

// The entry node retries after a 421 (the owner moved) and after an owner it cannot
// reach, locating the object again each time; it gives up with 503 after a bounded
// number of tries.
func TestRoutingRetriesAfter421AndUnreachable(t *testing.T) {
	o := newOwners()
	nodes := startCluster(t, o, nil, "a", "b")
	a := nodes["a"]
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.addr["gone"] = dead.Addr().String()
	dead.Close()

	// a first believes b owns "moved", b knows a does (421); then a finds it is its own.
	o.script = wrongOnce("a", "moved", "b")
	code, s, raw := do(t, "POST", "http://"+a.addr+"/parties/echo/moved", "body", nil)
	if code != 200 || s.Node != "a" || s.Body != "body" {
		t.Fatalf("after a 421: %d %s", code, raw)
	}
	// An unreachable owner, then b.
	o.set("far", "b")
	o.script = wrongOnce("a", "far", "gone")
	code, s, raw = do(t, "POST", "http://"+a.addr+"/parties/echo/far", "again", nil)
	if code != 200 || s.Node != "b" || s.Body != "again" || s.Hits != 1 {
		t.Fatalf("after an unreachable owner: %d %s", code, raw)
	}
	// Never reachable: bounded, then 503.
	o.script = func(node, name string) (string, bool) { return "gone", name == "lost" }
	o.mu.Lock()
	before := o.locates["a"]
	o.mu.Unlock()
	code, _, raw = do(t, "GET", "http://"+a.addr+"/parties/echo/lost", "", nil)
	o.mu.Lock()
	n := o.locates["a"] - before
	o.mu.Unlock()
	if code != http.StatusServiceUnavailable || n != 5 {
		t.Fatalf("never reachable: %d %s after %d locates, want 503 after 5", code, raw, n)
	}
	if got := metricOf(t, a.addr, "warren_route_retries_total"); got < 6 {
		t.Fatalf("retries %v, want at least 6", got)
	}
}

// An owner killed without leaving cannot be reached, and its objects move only once
// its lease ran out: with RetryFor past that, the entry node keeps trying and the
// request is served by the new owner, instead of a 503 after half a second.
func TestRoutingRetriesForAnUnreachableOwnersLease(t *testing.T) {
	o := newOwners()
	nodes := startCluster(t, o, map[string]server.Config{"a": {Routing: &server.Routing{RetryFor: 3 * time.Second}}}, "a", "b")
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.addr["gone"] = dead.Addr().String()
	dead.Close()
	o.set("orphan", "b")
	leaseEnds := time.Now().Add(time.Second)
	o.script = func(node, name string) (string, bool) {
		return "gone", name == "orphan" && time.Now().Before(leaseEnds)
	}
	start := time.Now()
	code, s, raw := do(t, "POST", "http://"+nodes["a"].addr+"/parties/echo/orphan", "late", nil)
	if code != 200 || s.Node != "b" || s.Body != "late" || s.Hits != 1 {
		t.Fatalf("after %v: %d %s, want 200 from b", time.Since(start).Round(time.Millisecond), code, raw)
	}
}

// WebSockets are proxied to the owner (stock clients, any node); the owner does not
// count the entry node's connections against MaxConnsPerIP; the entry node checks
// Origin; its Shutdown closes the tunnels.
func TestRoutingProxiesWebSockets(t *testing.T) {
	o := newOwners()
	o.set("bee", "b")
	nodes := startCluster(t, o, map[string]server.Config{"b": {MaxConnsPerIP: 3}}, "a", "b")
	a, b := nodes["a"], nodes["b"]
	var conns []*websocket.Conn
	for i := range 6 { // more than b allows one address: the route is exempt
		c, resp, err := websocket.DefaultDialer.Dial(fmt.Sprintf("ws://%s/parties/echo/bee?_pk=c%d", a.addr, i), nil)
		if err != nil {
			t.Fatalf("dial %d via a: %v (%v)", i, err, resp)
		}
		if got := roundTrip(t, c, "hi"); got != "b:hi" {
			t.Fatalf("socket %d: %q", i, got)
		}
		conns = append(conns, c)
	}
	if got := b.rt.SocketStats().Open; got != 6 {
		t.Fatalf("b has %d sockets, want 6", got)
	}
	if got := a.rt.SocketStats().Open; got != 0 {
		t.Fatalf("a has %d sockets of its own, want 0", got)
	}
	// Cross-origin upgrade: refused at the entry node.
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+a.addr+"/parties/echo/bee", http.Header{"Origin": {"http://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin upgrade via a: %v %v, want 403", err, resp)
	}
	// The entry node's shutdown closes the tunnels; the owner sees the sockets go.
	a.stop()
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := c.ReadMessage(); err == nil {
			t.Fatal("socket still open after the entry node shut down")
		}
	}
	waitFor(t, "b's sockets closed", func() bool { return b.rt.SocketStats().Open == 0 })
}

// A routed upgrade for an object the node does not serve gets 421 too, and a socket
// whose object moved is retried by the entry node.
func TestRoutingSocketAfterMove(t *testing.T) {
	o := newOwners()
	nodes := startCluster(t, o, nil, "a", "b")
	o.script = wrongOnce("a", "moved", "b")
	c, _, err := websocket.DefaultDialer.Dial("ws://"+nodes["a"].addr+"/parties/echo/moved", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := roundTrip(t, c, "x"); got != "a:x" {
		t.Fatalf("got %q", got)
	}
	hdr := http.Header{"Warren-Routed": {"a"}, "Warren-Route-Token": {testToken}, "X-Forwarded-For": {"127.0.0.1"}}
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+nodes["b"].addr+"/parties/echo/moved", hdr)
	if err == nil || resp == nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("routed upgrade to b for a's object: %v %v, want 421", err, resp)
	}
}

// An endpoint mounted under a name that is no namespace's cannot be located before
// it runs: the entry node runs it, and proxies the socket to the node that owns the
// object the endpoint chose. Before, the entry node located the endpoint's name as
// if it were an object's, served it where that hash fell, and the object's owner
// refused it there: 421 after 421, then the client got 421 (seen as 503s of the
// collab editor's read-only /parties/view/<token> through two nodes of three).
func TestRoutingSocketOfAnEndpointThatFindsItsObject(t *testing.T) {
	o := newOwners()
	o.set("aliased-x", "b")
	nodes := startCluster(t, o, nil, "a", "b")
	for _, entry := range []string{"a", "b"} {
		c, resp, err := websocket.DefaultDialer.Dial("ws://"+nodes[entry].addr+"/parties/alias/x", nil)
		if err != nil {
			code := 0
			if resp != nil {
				code = resp.StatusCode
			}
			t.Fatalf("socket to /parties/alias/x via %s: %v (HTTP %d)", entry, err, code)
		}
		if got := roundTrip(t, c, "y"); got != "b:y" {
			t.Fatalf("via %s: got %q, want b's echo", entry, got)
		}
		c.Close()
	}
}

// The stock partysocket client works through a node that does not serve its room.
func TestPartysocketThroughAnotherNode(t *testing.T) {
	node := nodetest.Require(t, "partysocket", "ws")
	o := newOwners()
	o.set("npm", "b")
	nodes := startCluster(t, o, nil, "a", "b")
	out, err := node.Run(t, 30*time.Second, filepath.Join("testdata", "partysocket.cjs"), nodes["a"].addr)
	if err != nil {
		t.Fatalf("partysocket client via a: %v\n%s", err, out)
	}
	if got := nodes["b"].rt.SocketStats().Accepted; got != 1 {
		t.Fatalf("b accepted %d sockets, want the client's 1", got)
	}
}
