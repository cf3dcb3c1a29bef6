package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

func TestEchoTagsAttachment(t *testing.T) {
	h := start(t, server.Config{}, object.Config{})
	c := h.dial("/parties/room/r1?_pk=alice&tag=blue&tag=admin")
	if got := roundTrip(t, c, "hello"); got != "echo:hello" {
		t.Fatalf("echo: %q", got)
	}
	var who struct {
		ID         string
		Tags       []string
		Attachment attachment
	}
	json.Unmarshal([]byte(roundTrip(t, c, "whoami")), &who)
	if who.ID != "alice" || strings.Join(who.Tags, ",") != "blue,admin" || who.Attachment != (attachment{"alice", 1}) {
		t.Fatalf("whoami: %+v", who)
	}
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{0, 1, 2, 255}); err != nil {
		t.Fatal(err)
	}
	typ, b, err := c.ReadMessage()
	if err != nil || typ != websocket.BinaryMessage || string(b) != "\x00\x01\x02\xff" {
		t.Fatalf("binary echo: %d %q %v", typ, b, err)
	}
	// No _pk: the server generates a connection ID.
	c2 := h.dial("/parties/room/r1")
	json.Unmarshal([]byte(roundTrip(t, c2, "whoami")), &who)
	if len(who.ID) != 32 {
		t.Fatalf("generated id %q", who.ID)
	}
	if got := roundTrip(t, c, "count"); got != "2" {
		t.Fatalf("count: %s", got)
	}
	// Broadcast with exclusion: c sends, only c2 receives.
	send(t, c, "bcast:hi")
	if got := recv(t, c2); got != "hi" {
		t.Fatalf("broadcast: %q", got)
	}
	if got := roundTrip(t, c, "x"); got != "echo:x" {
		t.Fatalf("sender got %q; the broadcast must exclude it", got)
	}
	// Object-initiated close: the client sees 4000, and OnClose runs.
	send(t, c2, "close")
	if code, reason := closeCode(t, c2); code != 4000 || reason != "bye" {
		t.Fatalf("close: %d %q", code, reason)
	}
	ev := h.waitClose(who.ID, 5*time.Second)
	if ev.code != 4000 || !ev.clean {
		t.Fatalf("OnClose: %+v", ev)
	}
	// Client-initiated close reaches OnClose with the client's code.
	c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4100, "leaving"))
	if ev := h.waitClose("alice", 5*time.Second); ev.code != 4100 || ev.reason != "leaving" || !ev.clean {
		t.Fatalf("OnClose: %+v", ev)
	}
}

func TestHibernation(t *testing.T) {
	h := start(t, server.Config{}, object.Config{})
	const n = 100
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = h.dial(fmt.Sprintf("/parties/room/big?_pk=c%d&tag=t%d", i, i%3))
	}
	// A socket is listed once its connection has started, just after the 101 response.
	waitFor(t, "sockets", func() bool { return h.rt.SocketStats().Open == n })
	if got := roundTrip(t, conns[0], "count"); got != "100" {
		t.Fatalf("count: %s", got)
	}
	before := h.rt.Stats().Activations
	if h.rt.EvictAll() != 1 {
		t.Fatal("the object was not evicted")
	}
	if v := h.metric("warren_sockets_open"); v != n {
		t.Fatalf("sockets open %v", v)
	}
	if v := h.metric("warren_hibernated_objects"); v != 1 {
		t.Fatalf("hibernated objects %v", v)
	}
	if v := h.metric("warren_objects_active"); v != 0 {
		t.Fatalf("active objects %v", v)
	}
	// The auto-response answers without waking the object.
	if got := roundTrip(t, conns[5], "ping"); got != "pong" {
		t.Fatalf("auto-response: %q", got)
	}
	if h.rt.Stats().Activations != before {
		t.Fatal("auto-response woke the object")
	}
	// The next message wakes it, with tags and attachments intact.
	var who struct {
		ID         string
		Tags       []string
		Attachment attachment
	}
	json.Unmarshal([]byte(roundTrip(t, conns[57], "whoami")), &who)
	if who.ID != "c57" || strings.Join(who.Tags, ",") != "t0" || who.Attachment != (attachment{"c57", 1}) {
		t.Fatalf("after hibernation: %+v", who)
	}
	if h.rt.Stats().Activations != before+1 {
		t.Fatal("the constructor did not re-run")
	}
	if got := roundTrip(t, conns[99], "count"); got != "100" {
		t.Fatalf("count after wake: %s", got)
	}
	if v := h.metric("warren_hibernated_objects"); v != 0 {
		t.Fatalf("hibernated objects after wake %v", v)
	}
}

func TestOutputGate(t *testing.T) {
	h := start(t, server.Config{}, object.Config{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	c := h.dial("/parties/room/gate?_pk=a")
	other := h.dial("/parties/room/gate?_pk=b")
	roundTrip(t, other, "x")
	send(t, c, "fail")
	// The failed turn's send and broadcast are dropped: the next message each socket
	// gets is the answer to its next request.
	if got := roundTrip(t, c, "after"); got != "echo:after" {
		t.Fatalf("got %q after a failed turn", got)
	}
	if got := roundTrip(t, other, "after"); got != "echo:after" {
		t.Fatalf("other got %q after a failed turn", got)
	}
}

func TestOnConnectRejects(t *testing.T) {
	h := start(t, server.Config{}, object.Config{})
	c := h.dial("/parties/room/r?_pk=mallory&reject=1")
	if code, reason := closeCode(t, c); code != 4001 || reason != "unauthorized" {
		t.Fatalf("close %d %q", code, reason)
	}
}

func TestOrigin(t *testing.T) {
	h := start(t, server.Config{AllowedOrigins: []string{"https://app.example"}}, object.Config{})
	dial := func(origin string) (int, error) {
		hdr := http.Header{}
		hdr.Set("Origin", origin)
		c, resp, err := websocket.DefaultDialer.Dial(h.url("/parties/room/o"), hdr)
		if err == nil {
			c.Close()
			return 101, nil
		}
		if resp == nil {
			return 0, err
		}
		return resp.StatusCode, err
	}
	for origin, want := range map[string]int{
		"http://" + h.addr:     101, // same origin
		"https://app.example":  101, // allow-listed
		"https://evil.example": 403,
		"http://127.0.0.1:1":   403,
	} {
		if got, err := dial(origin); got != want {
			t.Errorf("origin %s: %d %v, want %d", origin, got, err, want)
		}
	}
}

func TestMessageTooBig(t *testing.T) {
	h := start(t, server.Config{MaxMessageSize: 1024}, object.Config{})
	c := h.dial("/parties/room/big?_pk=big")
	roundTrip(t, c, strings.Repeat("a", 1000))
	send(t, c, strings.Repeat("a", 2000))
	if code, _ := closeCode(t, c); code != websocket.CloseMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
	if ev := h.waitClose("big", 5*time.Second); ev.code != 1009 {
		t.Fatalf("OnClose %+v", ev)
	}
}

func TestConnsPerIP(t *testing.T) {
	h := start(t, server.Config{MaxConnsPerIP: 2}, object.Config{})
	h.dial("/parties/room/ip")
	h.dial("/parties/room/ip")
	_, resp, err := websocket.DefaultDialer.Dial(h.url("/parties/room/ip"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third connection: %v %v", resp, err)
	}
}

func TestSocketsPerObject(t *testing.T) {
	h := start(t, server.Config{}, object.Config{Sockets: object.SocketConfig{MaxPerObject: 3}})
	for range 3 {
		h.dial("/parties/room/full")
	}
	_, resp, err := websocket.DefaultDialer.Dial(h.url("/parties/room/full"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("fourth socket: %v %v", resp, err)
	}
	h.dial("/parties/room/other") // other objects are not affected
}

// TestVanishedClient: a peer that stops answering without closing (a blackholed TCP
// connection) produces OnClose within PingInterval+PongTimeout.
func TestVanishedClient(t *testing.T) {
	// A pong timeout long enough for a round trip through the proxy on a loaded
	// machine with -race (100 ms closed a live client at load 28 in CI).
	const ping, pong = 200 * time.Millisecond, 800 * time.Millisecond
	h := start(t, server.Config{PingInterval: ping, PongTimeout: pong}, object.Config{})
	p := newProxy(t, h.addr)
	c, _, err := websocket.DefaultDialer.Dial("ws://"+p.addr()+"/parties/room/v?_pk=ghost", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() { // answer pings while the proxy forwards
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	send(t, c, "x")
	time.Sleep(2 * (ping + pong)) // pings flow and are answered, past a pong timeout
	select {
	case ev := <-h.closes:
		t.Fatalf("closed while alive: %+v", ev)
	default:
	}
	vanished := time.Now()
	p.blackhole()
	ev := h.waitClose("ghost", 5*time.Second)
	bound := ping + pong
	if took := ev.at.Sub(vanished); took > bound+500*time.Millisecond {
		t.Fatalf("OnClose after %v, bound %v", took, bound)
	}
	if ev.code != 1006 || ev.clean {
		t.Fatalf("OnClose %+v", ev)
	}

	// A client that closes its TCP connection without a close frame: at once.
	raw := h.dial("/parties/room/v?_pk=raw")
	roundTrip(t, raw, "x")
	raw.NetConn().Close()
	if ev := h.waitClose("raw", time.Second); ev.code != 1006 || ev.clean {
		t.Fatalf("OnClose %+v", ev)
	}
}

// proxy forwards TCP connections until blackhole, after which it stops forwarding
// but keeps the connections open (a peer that vanished without FIN).
type proxy struct {
	ln   net.Listener
	mu   sync.Mutex
	dead bool
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			a, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", target)
			if err != nil {
				a.Close()
				continue
			}
			t.Cleanup(func() { a.Close(); b.Close() })
			go p.pipe(a, b)
			go p.pipe(b, a)
		}
	}()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) blackhole() {
	p.mu.Lock()
	p.dead = true
	p.mu.Unlock()
}

func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		p.mu.Lock()
		dead := p.dead
		p.mu.Unlock()
		if dead {
			continue // swallow
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

// TestSlowConsumer: a socket that does not read overflows its send queue and is
// closed with 1013; the others receive every message, in order.
func TestSlowConsumer(t *testing.T) {
	h := start(t, server.Config{}, object.Config{Sockets: object.SocketConfig{SendQueue: 64}})
	slow := h.dial("/parties/room/fan?_pk=slow")
	const fast, rounds, per, size = 4, 60, 10, 32 << 10
	conns := make([]*websocket.Conn, fast)
	for i := range conns {
		conns[i] = h.dial(fmt.Sprintf("/parties/room/fan?_pk=f%d", i))
	}
	roundTrip(t, slow, "x") // connected and accepted
	var wg sync.WaitGroup
	got := make([]atomic.Int64, fast)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			for got[i].Load() < rounds*per {
				_, b, err := c.ReadMessage()
				if err != nil {
					return
				}
				if strings.HasPrefix(string(b), fmt.Sprintf("%08d", got[i].Load())) {
					got[i].Add(1)
				}
			}
		}()
	}
	// Each round is one turn broadcasting per messages; the fast consumers keep up.
	for r := range rounds {
		send(t, conns[0], fmt.Sprintf("flood:%d:%d", per, size))
		waitFor(t, "fast consumers", func() bool {
			for i := range got {
				if got[i].Load() < int64((r+1)*per) {
					return false
				}
			}
			return true
		})
	}
	ev := h.waitClose("slow", 10*time.Second)
	if ev.code != object.CloseTryAgainLater {
		t.Fatalf("slow consumer closed with %+v", ev)
	}
	wg.Wait()
	if v := h.metric("warren_socket_slow_consumers_total"); v != 1 {
		t.Fatalf("slow consumers metric %v", v)
	}
	closeCode(t, slow) // the slow client's connection ends
}

func TestShutdownSends1012(t *testing.T) {
	h := start(t, server.Config{}, object.Config{})
	c := h.dial("/parties/room/s?_pk=s")
	roundTrip(t, c, "x")
	h.cancel()
	if code, _ := closeCode(t, c); code != websocket.CloseServiceRestart {
		t.Fatalf("close code %d, want 1012", code)
	}
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatal(err)
		}
		h.done <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
}

func TestHTTPRoutes(t *testing.T) {
	assets := fstest.MapFS{
		"index.html":    {Data: []byte("<h1>app</h1>")},
		"assets/app.js": {Data: []byte("console.log(1)")},
	}
	h := start(t, server.Config{Assets: assets}, object.Config{})
	for i := 1; i <= 3; i++ {
		if code, body := h.get("/parties/room/counter"); code != 200 || body != fmt.Sprint(i) {
			t.Fatalf("counter: %d %q", code, body)
		}
	}
	// Names are any UTF-8, escaped; "a/b" escaped is one name.
	if code, body := h.get("/parties/room/caf%C3%A9%2Fa%20b"); code != 200 || body != "1" {
		t.Fatalf("escaped name: %d %q", code, body)
	}
	long := strings.Repeat("x", server.MaxNameLen+1)
	for path, want := range map[string]int{
		"/parties/room/" + long: 400,
		"/parties/room/%FF":     400,
		"/parties/nosuch/x":     404,
		"/parties/room/":        400,
		"/healthz":              200,
		"/":                     200,
		"/assets/app.js":        200,
		"/some/client/route":    200,
		"/missing.js":           404,
	} {
		if code, body := h.get(path); code != want {
			t.Errorf("GET %s: %d %q, want %d", path, code, body, want)
		}
	}
	for _, p := range []string{"/..%2F..%2Fetc/passwd", "/parties/room%2F..%2F../x", "/assets/..%2F..%2F..%2Fetc%2Fpasswd"} {
		if code, body := h.get(p); code != 400 && code != 404 {
			t.Errorf("GET %s: %d %q, want 400 or 404", p, code, body)
		}
	}
	if _, body := h.get("/some/client/route"); body != "<h1>app</h1>" {
		t.Errorf("SPA fallback served %q", body)
	}
	resp, err := http.Get("http://" + h.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"warren_turns_total", "warren_commits_total", "warren_objects_active", "warren_evictions_total",
		"warren_sockets_open", "warren_socket_messages_in_total", "warren_socket_messages_out_total", "warren_socket_slow_consumers_total", "warren_hibernated_objects",
		"warren_alarm_runs_total", "warren_alarm_retries_total", "warren_alarm_failures_total", "warren_panics_total", "warren_turn_timeouts_total", "warren_abandoned_turns_total", "warren_catalog_waits_total"} {
		if !strings.Contains(string(b), "\n"+m+" ") || !strings.Contains(string(b), "# TYPE "+m+" ") {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if err := h.s.AddMetric(server.Metric{Name: "warren_test_total", Help: "x", Type: "counter", Value: func() float64 { return 7 }}); err != nil {
		t.Fatal(err)
	}
	if v := h.metric("warren_test_total"); v != 7 {
		t.Fatalf("added metric %v", v)
	}
	if err := h.s.AddMetric(server.Metric{Name: "warren_turns_total", Type: "counter", Value: func() float64 { return 0 }}); err == nil {
		t.Fatal("duplicate metric accepted")
	}
}
