package objecttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/internal/freeport"
)

// AppFunc builds the app under test on a data directory. It is called on every
// (re)start of an in-process [Server], always with the same directory. If the
// returned handler also implements [io.Closer], Close is called when the server
// stops, before the next AppFunc call, so the app can release its files.
type AppFunc func(dataDir string) (http.Handler, error)

// Server is a whole app under test (in this process, or its binary as a
// subprocess) listening on 127.0.0.1: the fixture shared by the apps' unit,
// chaos and browser tests. Its URL, Addr and DataDir stay the same across Stop,
// Kill and Start. Its methods fail the test on error, so call them from the test
// goroutine.
type Server struct {
	// URL is "http://" + Addr, with no trailing slash.
	URL string
	// Addr is the "127.0.0.1:port" the server listens on.
	Addr string
	// DataDir is the app's data directory, a temporary directory of the test.
	DataDir string

	t       testing.TB
	app     AppFunc  // in-process mode
	bin     string   // subprocess mode
	args    []string // subprocess mode, before -addr and -data
	running bool

	// in-process
	ln      net.Listener // bound by NewApp, used by the first Start
	srv     *http.Server
	handler http.Handler
	conns   *connSet
	done    chan struct{}

	// subprocess
	cmd    *exec.Cmd
	exited chan struct{}
	out    *syncBuffer
}

// ServeApp starts app in this process on a free 127.0.0.1 port with a fresh
// data directory, and closes it when the test ends. The listener is bound
// before ServeApp returns, so the server is reachable at once.
func ServeApp(t testing.TB, app AppFunc) *Server {
	t.Helper()
	s := StartApp(t, app)
	t.Cleanup(s.Close)
	return s
}

// StartApp is [ServeApp] for a harness that orders its own cleanup: the caller
// must call [Server.Close].
func StartApp(t testing.TB, app AppFunc) *Server {
	t.Helper()
	s := NewApp(t, app)
	ln := s.ln
	s.ln = nil
	if err := s.startInProcess(ln); err != nil {
		t.Fatalf("objecttest: start app: %v", err)
	}
	return s
}

// NewApp is [StartApp] without the start: the Server's Addr (its listener is
// bound already) and DataDir are fixed, and [Server.Start] runs app on them. It
// lets a harness prepare what app will find on its data directory, or tell others
// the address, before the app starts. The caller must call [Server.Close].
func NewApp(t testing.TB, app AppFunc) *Server {
	t.Helper()
	s := &Server{t: t, app: app, DataDir: t.TempDir()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("objecttest: listen: %v", err)
	}
	s.ln, s.Addr = ln, ln.Addr().String()
	s.URL = "http://" + s.Addr
	return s
}

// ServeBinary runs the app binary bin as a subprocess with args followed by
// "-addr 127.0.0.1:<port> -data <dir>" (the flags every Warren app has), and
// waits until GET /healthz answers 200. It closes the server when the test
// ends. The process's combined output is kept in [Server.Output].
func ServeBinary(t testing.TB, bin string, args ...string) *Server {
	t.Helper()
	s := StartBinary(t, bin, args...)
	t.Cleanup(s.Close)
	return s
}

// StartBinary is [ServeBinary] for a harness that orders its own cleanup: the
// caller must call [Server.Close].
func StartBinary(t testing.TB, bin string, args ...string) *Server {
	t.Helper()
	s := &Server{t: t, bin: bin, args: args, DataDir: t.TempDir(), out: &syncBuffer{}}
	for attempt := 1; ; attempt++ {
		port, err := pickPort()
		if err != nil {
			t.Fatalf("objecttest: %v", err)
		}
		s.Addr = fmt.Sprintf("127.0.0.1:%d", port)
		s.URL = "http://" + s.Addr
		before := len(s.Output())
		err = s.startProcess()
		if err == nil {
			return s
		}
		if attempt == portAttempts || !portTaken(s.Output()[before:]) {
			t.Fatalf("objecttest: start %s: %v", filepath.Base(bin), err)
		}
		t.Logf("objecttest: %s: port %d was taken before it bound it; again on another", filepath.Base(bin), port)
	}
}

// portAttempts is how many times a subprocess is started on new ports when
// another socket took a port [freePort] picked before the subprocess bound it.
const portAttempts = 3

// portTaken reports whether a subprocess's output says a port it was given
// was in use (the app's -addr, or a cluster route port).
func portTaken(output string) bool {
	return strings.Contains(output, syscall.EADDRINUSE.Error())
}

// BuildBinary compiles the main package in dir (as `go build`, in dir's
// module) into a temporary file and returns its path.
func BuildBinary(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "app")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("objecttest: go build in %s: %v\n%s", dir, err, b)
	}
	return out
}

// Running reports whether the server was started and not stopped since.
func (s *Server) Running() bool { return s.running }

// Output returns what the subprocess of [ServeBinary] or [StartBinary] wrote to stdout and
// stderr so far, over all its runs. It is empty for in-process servers.
func (s *Server) Output() string {
	if s.out == nil {
		return ""
	}
	return s.out.String()
}

// Start starts a stopped server again on the same address and data directory.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.TryStart(); err != nil {
		s.t.Fatalf("%v", err)
	}
}

// TryStart is Start that returns its error instead of failing the test (the server
// stays stopped then).
func (s *Server) TryStart() error {
	if s.running {
		return errors.New("objecttest: Start: server already running")
	}
	var err error
	if s.bin != "" {
		err = s.startProcess()
	} else {
		ln := s.ln
		if s.ln = nil; ln == nil {
			ln, err = listenRetry(s.Addr, 5*time.Second)
		}
		if err == nil {
			err = s.startInProcess(ln)
		}
	}
	if err != nil {
		return fmt.Errorf("objecttest: restart on %s: %v", s.Addr, err)
	}
	return nil
}

// Stop shuts the server down gracefully. In process: it stops accepting,
// waits up to 5s for HTTP requests in flight, calls the handler's Close if it
// has one (hijacked connections such as WebSockets are the app's to close
// there), then closes every connection still open. Subprocess: SIGTERM, and
// SIGKILL after 10s. Stop on a stopped server does nothing.
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.stop(false); err != nil {
		s.t.Errorf("objecttest: Stop: %v", err)
	}
}

// Kill stops the server abruptly. Subprocess: SIGKILL, so nothing the app did
// not make durable survives. In process: every connection, WebSockets
// included, is closed at once with no graceful shutdown, then the handler's
// Close is called if it has one (to release its files; in-process state cannot
// be lost the way a killed process loses it, so use [ServeBinary] to test
// crash durability).
func (s *Server) Kill() {
	s.t.Helper()
	if err := s.stop(true); err != nil {
		s.t.Errorf("objecttest: Kill: %v", err)
	}
}

// PID is the subprocess's process id (its process group's too), or 0 when it is
// not running or the server runs in process.
func (s *Server) PID() int {
	if !s.running || s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Pause stops the subprocess with SIGSTOP (its process group), as a machine that
// freezes would: it keeps its connections and state but runs nothing until
// [Server.Resume]. Stop and Kill still work on a paused server.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a subprocess paused by [Server.Pause] with SIGCONT.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	if !s.running || s.cmd == nil {
		s.t.Fatalf("objecttest: %v: no subprocess running", sig)
	}
	if err := syscall.Kill(-s.cmd.Process.Pid, sig); err != nil {
		s.t.Fatalf("objecttest: %v: %v", sig, err)
	}
}

// Restart is Stop followed by Start.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.Start()
}

// Close stops the server like Stop, but logs an error instead of failing the
// test, and logs the subprocess's output if the test failed. It is meant for
// cleanup; Close on a stopped server only does the logging.
func (s *Server) Close() {
	if err := s.stop(false); err != nil {
		s.t.Logf("objecttest: stopping server: %v", err)
	}
	if s.t.Failed() && s.Output() != "" {
		s.t.Logf("objecttest: output of %s:\n%s", filepath.Base(s.bin), s.Output())
	}
}

func (s *Server) startInProcess(ln net.Listener) error {
	h, err := s.app(s.DataDir)
	if err != nil {
		ln.Close()
		return err
	}
	if h == nil {
		ln.Close()
		return errors.New("AppFunc returned a nil handler")
	}
	s.handler = h
	s.conns = &connSet{m: map[net.Conn]struct{}{}}
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.done = make(chan struct{})
	go func(srv *http.Server, ln net.Listener, done chan struct{}) {
		defer close(done)
		srv.Serve(&trackingListener{Listener: ln, set: s.conns})
	}(s.srv, ln, s.done)
	s.running = true
	return nil
}

func (s *Server) startProcess() error {
	if err := s.spawn(); err != nil {
		return err
	}
	return s.waitHealthy(30 * time.Second)
}

// waitHealthy waits for the subprocess's /healthz; it kills it if it fails.
func (s *Server) waitHealthy(timeout time.Duration) error {
	if err := waitHealthy(s.URL+"/healthz", s.exited, timeout); err != nil {
		s.stop(true)
		return fmt.Errorf("%w; output:\n%s", err, s.out.String())
	}
	return nil
}

// spawn starts the subprocess.
func (s *Server) spawn() error {
	args := append(append([]string{}, s.args...), "-addr", s.Addr, "-data", s.DataDir)
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout = s.out
	cmd.Stderr = s.out
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		cmd.Wait()
		close(exited)
	}(cmd, s.exited)
	s.running = true
	return nil
}

func (s *Server) stop(kill bool) error {
	if !s.running {
		if s.ln != nil { // NewApp's, never started
			s.ln.Close()
			s.ln = nil
		}
		return nil
	}
	s.running = false
	if s.bin != "" {
		return s.stopProcess(kill)
	}
	var errs []error
	if kill {
		s.srv.Close()
		s.conns.closeAll()
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			errs = append(errs, err)
		}
		cancel()
	}
	if c, ok := s.handler.(io.Closer); ok {
		if err := c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("app Close: %w", err))
		}
	}
	s.srv.Close()
	s.conns.closeAll()
	<-s.done
	return errors.Join(errs...)
}

func (s *Server) stopProcess(kill bool) error {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	// Signal the process group, so helpers the app started go too.
	syscall.Kill(-s.cmd.Process.Pid, sig)
	if !kill { // a paused process handles SIGTERM only once it runs again
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGCONT)
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
		return errors.New("process ignored SIGTERM for 10s; killed")
	}
	return nil
}

func waitHealthy(url string, exited <-chan struct{}, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-exited:
			return errors.New("process exited before it was healthy")
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s not 200 after %v (last error: %v)", url, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pickPort picks the ports of subprocesses (a variable for tests).
var pickPort = freePort

// freePort returns a 127.0.0.1 TCP port that was free a moment ago, below the
// ephemeral range (package freeport).
func freePort() (int, error) { return freeport.One() }

// listenRetry binds addr, retrying while it is still in use.
func listenRetry(addr string, timeout time.Duration) (net.Listener, error) {
	deadline := time.Now().Add(timeout)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			return ln, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// connSet tracks accepted connections, hijacked ones included, which
// http.Server forgets once hijacked.
type connSet struct {
	mu sync.Mutex
	m  map[net.Conn]struct{}
}

func (c *connSet) add(conn net.Conn) {
	c.mu.Lock()
	c.m[conn] = struct{}{}
	c.mu.Unlock()
}

func (c *connSet) remove(conn net.Conn) {
	c.mu.Lock()
	delete(c.m, conn)
	c.mu.Unlock()
}

func (c *connSet) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn := range c.m {
		conn.Close()
		delete(c.m, conn)
	}
}

type trackingListener struct {
	net.Listener
	set *connSet
}

func (l *trackingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.set.add(conn)
	return &trackedConn{Conn: conn, set: l.set}, nil
}

type trackedConn struct {
	net.Conn
	set  *connSet
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.set.remove(c.Conn) })
	return c.Conn.Close()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
