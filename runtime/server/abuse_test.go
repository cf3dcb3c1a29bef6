package server_test

import (
	"context"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// Abuse cases (SECURITY.md lists them with their results): each gets a clear error or
// close code, the server stays up, and other clients are unaffected.

// dialFrom opens a WebSocket from a chosen loopback source address.
func dialFrom(h *harness, src, path string, hdr http.Header) (*websocket.Conn, int, error) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second,
		NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}).DialContext}
	c, resp, err := d.Dial(h.url(path), hdr)
	if resp != nil {
		return c, resp.StatusCode, err
	}
	return c, 0, err
}

// TestAbuseConnectionFlood: 60 concurrent upgrades from one address against a limit of
// 8 get 8 sockets and 52 × 429; another address still connects and is served HTTP,
// and the address gets its quota back once its sockets close.
func TestAbuseConnectionFlood(t *testing.T) {
	h := start(t, server.Config{MaxConnsPerIP: 8}, object.Config{})
	var mu sync.Mutex
	var conns []*websocket.Conn
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, code, _ := dialFrom(h, "127.0.0.1", "/parties/room/flood", nil)
			mu.Lock()
			defer mu.Unlock()
			if c != nil {
				conns = append(conns, c)
				code = 101
			}
			codes[code]++
		}()
	}
	wg.Wait()
	if codes[101] != 8 || codes[http.StatusTooManyRequests] != 52 {
		t.Fatalf("flood results %v, want 8 × 101 and 52 × 429", codes)
	}
	if v := h.metricFrom("127.0.0.2", "warren_connections_refused_total"); v < 52 {
		t.Errorf("warren_connections_refused_total = %v, want ≥ 52", v)
	}
	// Another address is not affected.
	other, code, err := dialFrom(h, "127.0.0.2", "/parties/room/flood", nil)
	if err != nil {
		t.Fatalf("dial from 127.0.0.2 during the flood: %d %v", code, err)
	}
	if got := roundTrip(t, other, "hi"); got != "echo:hi" {
		t.Fatalf("other client got %q", got)
	}
	other.Close()
	if code, _ := h.getFrom("127.0.0.2", "/healthz"); code != 200 {
		t.Fatalf("/healthz from another address during the flood: %d", code)
	}
	for _, c := range conns {
		c.Close()
	}
	waitFor(t, "the flooding address's sockets to close", func() bool {
		c, _, err := dialFrom(h, "127.0.0.1", "/parties/room/flood", nil)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// TestAbuseOversizedFrame: a frame over the limit closes that socket with 1009; a
// socket of another client on the same object keeps working.
func TestAbuseOversizedFrame(t *testing.T) {
	h := start(t, server.Config{MaxMessageSize: 4096}, object.Config{})
	bystander := h.dial("/parties/room/big?_pk=bystander")
	roundTrip(t, bystander, "hi")
	for _, size := range []int{4097, 1 << 20} {
		c := h.dial("/parties/room/big")
		c.WriteMessage(websocket.BinaryMessage, make([]byte, size))
		if code, _ := closeCode(t, c); code != websocket.CloseMessageTooBig {
			t.Fatalf("frame of %d bytes: close code %d, want 1009", size, code)
		}
	}
	if got := roundTrip(t, bystander, "still here"); got != "echo:still here" {
		t.Fatalf("bystander got %q", got)
	}
}

// TestAbuseHighRate: one client writes 20,000 frames as fast as it can and never reads
// its echoes. The runtime reads its frames no faster than the object takes them (a
// bounded inbound queue per socket, then TCP backpressure), closes it with 1013 when
// its send queue overflows, and a bystander on the same object keeps answering
// within a second.
func TestAbuseHighRate(t *testing.T) {
	h := start(t, server.Config{}, object.Config{})
	bystander := h.dial("/parties/room/rate?_pk=bystander")
	blaster := h.dial("/parties/room/rate?_pk=blaster")
	done := make(chan error, 1)
	go func() {
		msg := []byte(strings.Repeat("x", 512))
		for range 20_000 {
			blaster.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if err := blaster.WriteMessage(websocket.TextMessage, msg); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := range 20 {
		start := time.Now()
		if got := roundTrip(t, bystander, "ping-bystander"); got != "echo:ping-bystander" {
			t.Fatalf("bystander got %q", got)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("bystander round trip %d took %v during the flood", i, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	<-done
	ev := h.waitClose("blaster", 15*time.Second)
	if ev.code != object.CloseTryAgainLater {
		t.Fatalf("blaster closed with %d %q, want 1013", ev.code, ev.reason)
	}
	if v := h.metric("warren_socket_slow_consumers_total"); v < 1 {
		t.Errorf("warren_socket_slow_consumers_total = %v", v)
	}
	if got := roundTrip(t, bystander, "after"); got != "echo:after" {
		t.Fatalf("bystander after the flood got %q", got)
	}
}

// TestAbuseInvalidUTF8: a text frame that is not UTF-8 fails the connection with 1007
// (RFC 6455 §8.1) and never reaches the object; binary frames carry any bytes.
func TestAbuseInvalidUTF8(t *testing.T) {
	h := start(t, server.Config{}, object.Config{})
	c := h.dial("/parties/room/utf?_pk=bad")
	c.WriteMessage(websocket.BinaryMessage, []byte{0xff, 0xfe, 0})
	if _, b, err := c.ReadMessage(); err != nil || string(b) != "\xff\xfe\x00" {
		t.Fatalf("binary garbage echo: %q %v", b, err)
	}
	c.WriteMessage(websocket.TextMessage, []byte("bad \xff\xfe utf-8"))
	if code, _ := closeCode(t, c); code != websocket.CloseInvalidFramePayloadData {
		t.Fatalf("close code %d, want 1007", code)
	}
	if ev := h.waitClose("bad", 5*time.Second); ev.code != websocket.CloseInvalidFramePayloadData {
		t.Fatalf("OnClose %+v, want 1007", ev)
	}
	ok := h.dial("/parties/room/utf")
	if got := roundTrip(t, ok, "héllo ✓"); got != "echo:héllo ✓" {
		t.Fatalf("valid UTF-8 echo %q", got)
	}
}

// TestAbusePathTricks: names with "..", escaped slashes, NUL, and namespaces that try
// to climb out of /parties reach no file but the object's hashed database.
func TestAbusePathTricks(t *testing.T) {
	h := start(t, server.Config{}, object.Config{})
	for path, want := range map[string]int{
		"/parties/room/..":                          200, // a name like any other, hashed
		"/parties/room/..%2F..%2Fetc%2Fpasswd":      200,
		"/parties/room/%2e%2e":                      200,
		"/parties/room/a%00b":                       200,
		"/parties/room/%00":                         200,
		"/parties/room/%C0%AF":                      400, // overlong "/": not UTF-8
		"/parties/..%2F..%2Fetc/x":                  404,
		"/parties/room%00/x":                        404,
		"/parties/%2e%2e/x":                         404,
		"/parties/room/" + strings.Repeat("a", 257): 400,
	} {
		resp, err := http.Get("http://" + h.addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	// A raw request line that net/http does not clean.
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("GET /parties/room/../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /parties/room/%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	raw, _ := io.ReadAll(conn)
	conn.Close()
	if strings.Contains(string(raw), "root:") {
		t.Fatalf("raw ../ path served a system file: %q", raw)
	}
	if !strings.Contains(string(raw), "400 Bad Request") {
		t.Errorf("raw %%ZZ escape: want a 400 among %q", raw)
	}
	h.rt.WaitIdle()
	dbName := regexp.MustCompile(`^room/[0-9a-f]{2}/[0-9a-f]{64}\.sqlite(-wal|-shm)?$`)
	filepath.WalkDir(h.rt.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(h.rt.Dir, p)
		if rel != "LOCK" && !strings.HasPrefix(rel, "wake.sqlite") && !strings.HasPrefix(rel, "catalog.sqlite") && !dbName.MatchString(filepath.ToSlash(rel)) {
			t.Errorf("unexpected file in the data directory: %s", rel)
		}
		return nil
	})
}

// TestAbuseCrossOrigin: pages of other origins cannot open WebSockets (403), however
// the Origin header is dressed up; clients without an Origin (not browsers) can.
func TestAbuseCrossOrigin(t *testing.T) {
	h := start(t, server.Config{}, object.Config{})
	for origin, want := range map[string]int{
		"":                                   101, // not a browser
		"http://" + h.addr:                   101,
		"null":                               403, // sandboxed iframe, file://
		"http://" + h.addr + ".evil.example": 403,
		"http://evil.example/" + h.addr:      403,
		"http://evil.example#" + h.addr:      403,
		"http://user@evil.example":           403,
		"ftp://" + h.addr + "@evil.example":  403,
		"https://" + h.addr:                  403, // same host, other scheme (issue 14, finding 11)
		"ftp://" + h.addr:                    403,
		"ws://" + h.addr:                     403,
	} {
		hdr := http.Header{}
		if origin != "" {
			hdr.Set("Origin", origin)
		}
		c, code, err := dialFrom(h, "127.0.0.1", "/parties/room/origin", hdr)
		if c != nil {
			c.Close()
			code = 101
		}
		if code != want {
			t.Errorf("Origin %q: %d %v, want %d", origin, code, err, want)
		}
	}
}

// TestAbuseSlowloris: a client that opens TCP connections and never finishes its
// request headers does not stop others from being served.
func TestAbuseSlowloris(t *testing.T) {
	h := start(t, server.Config{}, object.Config{})
	var conns []net.Conn
	for range 200 {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET /parties/room/x HTTP/1.1\r\nHost: x\r\n"))
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+h.addr+"/parties/room/counter", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("request during 200 stalled connections: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}
