package objecttest

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/objecttest/testapp"
)

// TestMain lets ServeBinary's tests start this test binary as the app (testapp).
func TestMain(m *testing.M) {
	testapp.MainIfHelper()
	os.Exit(m.Run())
}

// client opens a new connection per request: a pooled connection to a server
// that was just restarted may be closed under the request.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	return string(b)
}

func post(t *testing.T, base, msg string) {
	t.Helper()
	resp, err := client.PostForm(base+"/send", url.Values{"m": {msg}})
	if err != nil {
		t.Fatalf("send %q: %v", msg, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("send %q: status %d", msg, resp.StatusCode)
	}
}

// dialWS opens a WebSocket to s and returns the raw connection after the
// handshake, with a reader positioned at the first frame.
func dialWS(t *testing.T, s *Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", s.Addr)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" { // RFC 6455 example
		t.Fatalf("Sec-WebSocket-Accept = %q", got)
	}
	return c, br
}

func TestServeRestartKeepsAddrAndData(t *testing.T) {
	calls := 0
	var dirs []string
	s := ServeApp(t, func(dir string) (http.Handler, error) {
		calls++
		dirs = append(dirs, dir)
		return testapp.New(dir)
	})
	addr, dir := s.Addr, s.DataDir
	if !strings.HasPrefix(s.Addr, "127.0.0.1:") || s.URL != "http://"+s.Addr {
		t.Fatalf("Addr %q, URL %q", s.Addr, s.URL)
	}
	post(t, s.URL, "one")
	s.Restart()
	post(t, s.URL, "two")
	s.Kill()
	if s.Running() {
		t.Fatal("Running after Kill")
	}
	if _, err := client.Get(s.URL + "/healthz"); err == nil {
		t.Fatal("server still answers after Kill")
	}
	s.Start()
	if got, want := get(t, s.URL+"/messages"), "one\ntwo\n"; got != want {
		t.Fatalf("messages after restarts = %q, want %q", got, want)
	}
	if s.Addr != addr || s.DataDir != dir || calls != 3 || dirs[1] != dir || dirs[2] != dir {
		t.Fatalf("addr %s->%s, dir %s->%s, %d AppFunc calls with %v", addr, s.Addr, dir, s.DataDir, calls, dirs)
	}
}

// Stop lets the app close its WebSockets (here with code 1012); Kill closes
// hijacked connections itself.
func TestStopAndKillCloseWebSockets(t *testing.T) {
	s := ServeApp(t, func(dir string) (http.Handler, error) { return testapp.New(dir) })

	_, br := dialWS(t, s)
	post(t, s.URL, "x")
	// A frame (history or broadcast) means the app has registered the socket.
	if f := readSmallFrame(t, br); f != "\x81\x01x" {
		t.Fatalf("first frame %q, want text 'x'", f)
	}
	s.Stop()
	var h [4]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatalf("reading close frame: %v", err)
	}
	if h[0] != 0x80|8 /* close */ || binary.BigEndian.Uint16(h[2:]) != 1012 {
		t.Fatalf("after Stop got frame % x, want close 1012", h)
	}

	s.Start()
	// An app without Close: Kill must still cut its hijacked connection.
	s.Kill()
	s.app = func(dir string) (http.Handler, error) {
		a, err := testapp.New(dir)
		return struct{ http.Handler }{a}, err // hides Close
	}
	s.Start()
	c, br := dialWS(t, s)
	s.Kill()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, br); err != nil { // history frames, then EOF
		t.Fatalf("read after Kill: %v, want EOF", err)
	}
}

// readSmallFrame reads one unmasked frame with a payload under 126 bytes.
func readSmallFrame(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	h := make([]byte, 2)
	if _, err := io.ReadFull(br, h); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, h[1]&0x7f)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatal(err)
	}
	return string(h) + string(p)
}

func TestServeAppError(t *testing.T) {
	ft := &fatalTB{TB: t}
	func() {
		defer func() { recover() }()
		ServeApp(ft, func(string) (http.Handler, error) { return nil, fmt.Errorf("no way") })
	}()
	if !strings.Contains(ft.msg, "no way") {
		t.Fatalf("Fatal message %q, want the AppFunc error", ft.msg)
	}
}

// fatalTB records Fatalf and panics to end the call, instead of ending the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}

func (f *fatalTB) Helper() {}

// ServeBinary against a real process (this test binary running testapp): SIGKILL loses nothing the app fsynced, Start reuses port and dir.
func TestServeBinaryKillAndStart(t *testing.T) {
	t.Setenv(testapp.HelperEnv, "1")
	s := ServeBinary(t, os.Args[0])
	post(t, s.URL, "acked")
	s.Kill()
	if _, err := client.Get(s.URL + "/healthz"); err == nil {
		t.Fatal("process still answers after Kill")
	}
	s.Start()
	if got := get(t, s.URL+"/messages"); got != "acked\n" {
		t.Fatalf("messages after SIGKILL = %q, want %q", got, "acked\n")
	}
	if !strings.Contains(s.Output(), "listening on "+s.Addr) {
		t.Fatalf("Output() = %q, want the app's log", s.Output())
	}
	s.Stop()
	if s.Running() {
		t.Fatal("Running after Stop")
	}
}

func TestServeBinaryExitsEarly(t *testing.T) {
	falseBin, err := exec.LookPath("false")
	if err != nil {
		t.Fatalf("false(1) is not on PATH: %v", err)
	}
	ft := &fatalTB{TB: t}
	func() {
		defer func() { recover() }()
		ServeBinary(ft, falseBin)
	}()
	if !strings.Contains(ft.msg, "exited before it was healthy") {
		t.Fatalf("Fatal message %q", ft.msg)
	}
}

// takenPortFirst makes the nth pickPort call return a port another socket has
// bound but does not listen on (as a client's socket takes a port between
// freePort and the subprocess's bind: connections to it are refused), and the
// other calls free ports. It returns the taken address.
func takenPortFirst(t *testing.T, nth int) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	calls := 0
	pickPort = func() (int, error) {
		if calls++; calls == nth {
			return port, nil
		}
		return freePort()
	}
	t.Cleanup(func() { pickPort = freePort })
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// Before, a port taken between freePort and the subprocess's bind failed the test.
func TestServeBinaryStartsAgainWhenItsPortIsTaken(t *testing.T) {
	t.Setenv(testapp.HelperEnv, "1")
	taken := takenPortFirst(t, 1)
	s := ServeBinary(t, os.Args[0])
	if s.Addr == taken {
		t.Fatalf("served on the taken address %s", taken)
	}
	post(t, s.URL, "acked")
	if got := get(t, s.URL+"/messages"); got != "acked\n" {
		t.Fatalf("messages = %q", got)
	}
	if !strings.Contains(s.Output(), syscall.EADDRINUSE.Error()) {
		t.Fatalf("the first start did not meet the taken port; output:\n%s", s.Output())
	}
}

// Before, a route port taken between freePort and a node's bind failed the test
// after ClusterStartTimeout.
func TestStartClusterStartsAgainWhenAPortIsTaken(t *testing.T) {
	t.Setenv(testapp.HelperEnv, "1")
	takenPortFirst(t, 2) // the second node's route port
	defer func(d time.Duration) { ClusterStartTimeout = d }(ClusterStartTimeout)
	ClusterStartTimeout = 30 * time.Second
	start := time.Now()
	nodes := StartCluster(t, os.Args[0], 3)
	// The others wait for the node that exited (testapp's /healthz needs every
	// route port to answer): it must fail the start at once, not after
	// ClusterStartTimeout (the first node waited 2 min in CI before).
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("StartCluster took %v: it waited for a node that had exited", d)
	}
	for _, s := range nodes {
		if got := get(t, s.URL+"/healthz"); got == "" {
			t.Fatalf("%s: empty /healthz", s.Addr)
		}
	}
}
