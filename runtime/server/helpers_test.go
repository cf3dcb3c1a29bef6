package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
	"github.com/warrenhq/warren/runtime/server"
)

// closeEvent is one OnClose call.
type closeEvent struct {
	conn   string
	code   int
	reason string
	clean  bool
	at     time.Time
}

// room is the test object: it echoes, reports its sockets, tags and attachment,
// fails on request, floods, and records closes.
type room struct {
	st      *object.State
	closes  chan closeEvent
	hits    int64
	flooded int
}

type attachment struct {
	Joined string `json:"joined"`
	Seq    int    `json:"seq"`
}

func (r *room) OnConnect(ctx context.Context, ws *object.WebSocket, req *http.Request) error {
	q := req.URL.Query()
	if q.Get("reject") != "" {
		return &object.CloseError{Code: 4001, Reason: "unauthorized"}
	}
	if tags := q["tag"]; len(tags) > 0 {
		if err := ws.SetTags(tags...); err != nil {
			return err
		}
	}
	return ws.SetAttachmentJSON(attachment{Joined: ws.ID()})
}

func (r *room) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	if m.Binary {
		return ws.SendBinary(m.Data)
	}
	cmd, arg, _ := strings.Cut(m.Text(), ":")
	switch cmd {
	case "count":
		return ws.SendText(strconv.Itoa(len(r.st.WebSockets(""))))
	case "whoami":
		var a attachment
		if _, err := ws.AttachmentJSON(&a); err != nil {
			return err
		}
		a.Seq++
		if err := ws.SetAttachmentJSON(a); err != nil {
			return err
		}
		b, _ := json.Marshal(map[string]any{"id": ws.ID(), "tags": ws.Tags(), "attachment": a})
		return ws.SendText(string(b))
	case "fail":
		ws.SendText("never")
		r.st.BroadcastText("never")
		return errors.New("deliberate failure")
	case "flood":
		// flood:<n>:<size> broadcasts n messages of size bytes to every socket.
		ns, size, _ := strings.Cut(arg, ":")
		n, _ := strconv.Atoi(ns)
		sz, _ := strconv.Atoi(size)
		msg := make([]byte, sz)
		for range n {
			copy(msg, fmt.Sprintf("%08d", r.flooded))
			r.flooded++
			r.st.Broadcast(object.TextMessage(string(msg)))
		}
		return nil
	case "bcast":
		r.st.BroadcastText(arg, ws)
		return nil
	case "close":
		return ws.Close(4000, "bye")
	case "slow":
		// slow:<ms> holds the turn for ms milliseconds, then answers "slow".
		ms, _ := strconv.Atoi(arg)
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return ws.SendText("slow")
	}
	return ws.SendText("echo:" + m.Text())
}

func (r *room) OnClose(ctx context.Context, ws *object.WebSocket, code int, reason string, clean bool) error {
	select {
	case r.closes <- closeEvent{ws.ID(), code, reason, clean, time.Now()}:
	default:
	}
	return nil
}

// ServeHTTP makes room also an HTTP counter; ?big=n answers n bytes instead, ?slow=ms
// holds the turn ms milliseconds first.
func (r *room) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if big, _ := strconv.Atoi(req.URL.Query().Get("big")); big > 0 {
		w.Write(make([]byte, big))
		return
	}
	if ms, _ := strconv.Atoi(req.URL.Query().Get("slow")); ms > 0 { // ?slow=ms holds the turn
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	n, _, _ := object.GetJSON[int64](r.st.Storage(), "hits")
	n++
	object.PutJSON(r.st.Storage(), "hits", n)
	fmt.Fprintf(w, "%d", n)
}

type harness struct {
	t      testing.TB
	rt     *objecttest.Runtime
	s      *server.Server
	addr   string
	closes chan closeEvent
	cancel context.CancelFunc
	done   chan error
}

func start(t testing.TB, cfg server.Config, rcfg object.Config) *harness {
	t.Helper()
	if rcfg.IdleTimeout == 0 {
		rcfg.IdleTimeout = time.Hour // tests evict on demand
	}
	rt := objecttest.New(t, rcfg)
	h := &harness{t: t, rt: rt, closes: make(chan closeEvent, 4096), done: make(chan error, 1)}
	ns, err := object.Register(rt.Runtime, "room", func(ctx context.Context, st *object.State) (*room, error) {
		st.SetAutoResponse("ping", "pong")
		return &room{st: st, closes: h.closes}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h.s = server.New(rt.Runtime, cfg)
	if err := h.s.Mount(ns); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(15 * time.Second):
			t.Error("server did not shut down")
		}
	})
	return h
}

// runApp runs app with server.Run (flags and environment as a binary reads them) on
// a free loopback port until the test ends, and returns its address.
func runApp(t *testing.T, app server.App, args ...string) string {
	t.Helper()
	ready := make(chan net.Addr, 1)
	app.Ready = func(a net.Addr) { ready <- a }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, app, append([]string{"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-log-level", "error"}, args...), io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("Run did not return")
		}
	})
	select {
	case a := <-ready:
		return a.String()
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not start")
	}
	return ""
}

// serveEndpoints serves eps on a loopback port until the test ends and returns the
// address.
func serveEndpoints(t *testing.T, rt *objecttest.Runtime, eps ...object.Endpoint) string {
	t.Helper()
	s := server.New(rt.Runtime, server.Config{})
	for _, ep := range eps {
		if err := s.Mount(ep); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

func (h *harness) url(path string) string { return "ws://" + h.addr + path }

func (h *harness) dial(path string) *websocket.Conn {
	h.t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(h.url(path), nil)
	if err != nil {
		body := ""
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			body = fmt.Sprintf(" (%d %s)", resp.StatusCode, b)
		}
		h.t.Fatalf("dial %s: %v%s", path, err, body)
	}
	h.t.Cleanup(func() { c.Close() })
	return c
}

// clientFrom is an HTTP client whose connections come from a chosen loopback source
// address (the per-address limits tell clients apart by it).
func clientFrom(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

// getFrom is get from a chosen source address; it returns 0 when no answer came.
func (h *harness) getFrom(src, path string) (int, string) {
	h.t.Helper()
	c := clientFrom(src)
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://" + h.addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (h *harness) get(path string) (int, string) {
	h.t.Helper()
	resp, err := http.Get("http://" + h.addr + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric returns the value of one metric from /metrics.
func (h *harness) metric(name string) float64 {
	h.t.Helper()
	return h.metricFrom("127.0.0.1", name)
}

// metricFrom is metric scraped from a chosen source address.
func (h *harness) metricFrom(src, name string) float64 {
	h.t.Helper()
	_, body := h.getFrom(src, "/metrics")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				h.t.Fatal(err)
			}
			return f
		}
	}
	h.t.Fatalf("metric %s missing from /metrics:\n%s", name, body)
	return 0
}

func send(t testing.TB, c *websocket.Conn, s string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func recv(t testing.TB, c *websocket.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func roundTrip(t testing.TB, c *websocket.Conn, s string) string {
	t.Helper()
	send(t, c, s)
	return recv(t, c)
}

// closeCode reads until the connection ends and returns the close code (1006 when
// it ended without a close frame).
func closeCode(t *testing.T, c *websocket.Conn) (int, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("connection still open")
		}
		return websocket.CloseAbnormalClosure, err.Error()
	}
}

func (h *harness) waitClose(conn string, within time.Duration) closeEvent {
	h.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev := <-h.closes:
			if ev.conn == conn {
				return ev
			}
		case <-deadline:
			h.t.Fatalf("no OnClose for %s within %v", conn, within)
		}
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

var _ atomic.Int64
