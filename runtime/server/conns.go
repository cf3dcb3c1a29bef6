package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/warrenhq/warren/runtime/internal/clientaddr"
)

// defaultMaxConnsPerIP is Config.MaxConnsPerIP's default: DefaultMaxConnsPerIP, or a quarter of the
// process's open-file limit when that is lower, so that one address can never take
// the descriptors every other client needs.
func defaultMaxConnsPerIP() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err == nil && l.Cur/4 < DefaultMaxConnsPerIP {
		return max(int(l.Cur/4), 1)
	}
	return DefaultMaxConnsPerIP
}

// ClientAddr is the client address of a request as the per-address limits count it:
// the TCP peer's IP (from r.RemoteAddr), an IPv6 address by its /64 prefix (one
// subscriber's usual allocation: a client cannot multiply its quota by picking
// addresses of its own network). Proxies are not trusted, so X-Forwarded-For is
// ignored. An object's OnConnect gets the upgrade request, so apps can apply their
// own per-address limits with the same key.
func ClientAddr(r *http.Request) string { return clientKey(r.RemoteAddr) }

// clientKey is ClientAddr of a "host:port" peer address.
func clientKey(addr string) string { return clientaddr.Key(addr) }

// connLimiter wraps a listener and bounds the connections open from one client
// address (clientKey): HTTP connections, kept alive or not, and WebSockets alike.
// A connection over the limit is answered 429 and closed; it never reaches net/http.
type connLimiter struct {
	net.Listener
	max int

	mu   sync.Mutex
	open map[string]int

	total     atomic.Int64 // connections open
	refused   atomic.Int64 // connections refused by the limit
	lingering atomic.Int32 // refused connections still being answered
}

// maxLingering bounds the refused connections that get a 429 and a graceful close;
// beyond it a refused connection is closed at once, so that refusing costs nothing
// that a flood could pile up.
const maxLingering = 64

func newConnLimiter(ln net.Listener, max int) *connLimiter {
	return &connLimiter{Listener: ln, max: max, open: map[string]int{}}
}

// Accept returns the next connection within the limit; it refuses the others.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := clientKey(c.RemoteAddr().String())
		l.mu.Lock()
		if l.open[key] >= l.max {
			l.mu.Unlock()
			l.refused.Add(1)
			l.refuse(c, key)
			continue
		}
		l.open[key]++
		l.mu.Unlock()
		l.total.Add(1)
		return &countedConn{Conn: c, l: l, key: key}, nil
	}
}

// release forgets a closed connection; counted says whether it still counted against
// its address.
func (l *connLimiter) release(key string, counted bool) {
	l.total.Add(-1)
	if counted {
		l.uncount(key)
	}
}

func (l *connLimiter) uncount(key string) {
	l.mu.Lock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
	l.mu.Unlock()
}

// refuse answers a connection over the limit with 429 and closes it. It first reads
// the request head (at most 8 KiB, for at most a second): an answer sent before the
// request would reach a client as an unsolicited response, which HTTP clients report
// as a broken connection instead of the 429. Then the connection is half-closed and
// drained for a moment so that the client reads the 429 rather than a reset.
func (l *connLimiter) refuse(c net.Conn, key string) {
	if l.lingering.Add(1) > maxLingering {
		l.lingering.Add(-1)
		c.Close()
		return
	}
	go func() {
		defer l.lingering.Add(-1)
		defer c.Close()
		msg := fmt.Sprintf("too many connections from %s (at most %d)\n", key, l.max)
		c.SetReadDeadline(time.Now().Add(time.Second))
		readRequestHead(c, 8<<10)
		c.SetDeadline(time.Now().Add(time.Second))
		fmt.Fprintf(c, "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}()
}

// readRequestHead reads from c until the blank line that ends a request's headers,
// max bytes, an error or the read deadline, whichever comes first.
func readRequestHead(c net.Conn, max int) {
	buf := make([]byte, 0, 1024)
	chunk := make([]byte, 1024)
	for len(buf) < max {
		n, err := c.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if bytes.Contains(buf, []byte("\r\n\r\n")) || err != nil {
			return
		}
	}
}

// connKey keys the accepted net.Conn in a request's context (http.Server.ConnContext).
type connKey struct{}

// countedConn is an accepted connection; closing it gives its slot back.
type countedConn struct {
	net.Conn
	l   *connLimiter
	key string

	mu       sync.Mutex
	closed   bool
	exempted bool // a peer node's: no longer counted against its address
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.mu.Lock()
	first, counted := !c.closed, !c.exempted
	c.closed = true
	c.mu.Unlock()
	if first {
		c.l.release(c.key, counted)
	}
	return err
}

// exempt stops counting the connection against its address's MaxConnsPerIP: it
// carries requests a peer node routed (Routing), for many clients.
func (c *countedConn) exempt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.exempted {
		return
	}
	c.exempted = true
	c.l.uncount(c.key)
}

// SyscallConn gives the WebSocket writer the socket's file descriptor (sockwrite.go)
// when the accepted connection has one.
func (c *countedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// CloseWrite half-closes the connection (net/http uses it for a graceful close).
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
