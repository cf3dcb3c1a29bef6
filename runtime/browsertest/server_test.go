package browsertest

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
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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
	s := Serve(t, func(dir string) (http.Handler, error) {
		calls++
		dirs = append(dirs, dir)
		return newChatApp(dir)
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
	s := Serve(t, func(dir string) (http.Handler, error) { return newChatApp(dir) })

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
	if h[0] != 0x80|opClose || binary.BigEndian.Uint16(h[2:]) != 1012 {
		t.Fatalf("after Stop got frame % x, want close 1012", h)
	}

	s.Start()
	// An app without Close: Kill must still cut its hijacked connection.
	s.Kill()
	s.app = func(dir string) (http.Handler, error) {
		a, err := newChatApp(dir)
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
		Serve(ft, func(string) (http.Handler, error) { return nil, fmt.Errorf("no way") })
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

// ServeBinary against a real process (this test binary running the demo
// app): SIGKILL loses nothing the app fsynced, Start reuses port and dir.
func TestServeBinaryKillAndStart(t *testing.T) {
	t.Setenv(helperAppEnv, "1")
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

func TestLaunchConfigFromEnv(t *testing.T) {
	tests := []struct {
		env                      map[string]string
		configured, ci, mustFail bool
	}{
		{env: nil},
		{env: map[string]string{"CI": "true"}, ci: true, mustFail: true},
		{env: map[string]string{"CI": "1"}, ci: true, mustFail: true},
		{env: map[string]string{"CI": "false"}},
		{env: map[string]string{"CHROMIUM_PATH": "/x/chromium"}, configured: true, mustFail: true},
		{env: map[string]string{"PLAYWRIGHT_DRIVER_PATH": "/x/driver", "CI": "true"}, configured: true, ci: true, mustFail: true},
	}
	for _, tt := range tests {
		c := launchConfigFromEnv(func(k string) string { return tt.env[k] })
		if c.configured != tt.configured || c.ci != tt.ci || c.mustFail() != tt.mustFail {
			t.Errorf("env %v: configured %v ci %v mustFail %v, want %v %v %v",
				tt.env, c.configured, c.ci, c.mustFail(), tt.configured, tt.ci, tt.mustFail)
		}
		o := c.launchOptions()
		if got := o.ExecutablePath != nil; got != (tt.env["CHROMIUM_PATH"] != "") {
			t.Errorf("env %v: ExecutablePath set = %v", tt.env, got)
		}
		if ro := c.runOptions(); ro.DriverDirectory != tt.env["PLAYWRIGHT_DRIVER_PATH"] || !ro.SkipInstallBrowsers {
			t.Errorf("env %v: run options %+v", tt.env, ro)
		}
	}
	if args := strings.Join((launchConfig{}).launchOptions().Args, " "); !strings.Contains(args, "--disable-background-networking") {
		t.Errorf("Chromium args %q lack --disable-background-networking", args)
	}
}

func TestFileName(t *testing.T) {
	for in, want := range map[string]string{
		"alice":            "alice",
		"alice / 1":        "alice_1",
		"../../etc":        "etc",
		"":                 "_",
		"TestX/sub_case#1": "TestX_sub_case_1",
		"é":                "_",
	} {
		if got := fileName(in); got != want {
			t.Errorf("fileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDefaultArtifactsDir(t *testing.T) {
	wd, _ := os.Getwd()
	root := repoRoot(wd)
	got := defaultArtifactsDir("TestA/sub case")
	rel, _ := filepath.Rel(root, wd)
	if want := filepath.Join(root, "test-artifacts", rel, "TestA", "sub_case"); got != want {
		t.Errorf("default = %q, want %q", got, want)
	}
	arts := t.TempDir()
	t.Setenv("WARREN_TEST_ARTIFACTS", arts)
	if got, want := defaultArtifactsDir("TestB"), filepath.Join(arts, rel, "TestB"); got != want {
		t.Errorf("with WARREN_TEST_ARTIFACTS = %q, want %q", got, want)
	}
}

func TestRepoRoot(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "apps", "chat", "web")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := repoRoot(sub); got != sub {
		t.Errorf("no go.work or go.mod: %q, want %q", got, sub)
	}
	os.WriteFile(filepath.Join(dir, "apps", "chat", "go.mod"), nil, 0o644)
	if got, want := repoRoot(sub), filepath.Join(dir, "apps", "chat"); got != want {
		t.Errorf("go.mod only: %q, want %q", got, want)
	}
	os.WriteFile(filepath.Join(dir, "go.work"), nil, 0o644)
	if got := repoRoot(sub); got != dir {
		t.Errorf("go.work: %q, want %q", got, dir)
	}
}
