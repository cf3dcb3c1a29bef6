package server

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/internal/wshost"
	"github.com/warrenhq/warren/runtime/object"
)

// closeGrace is how long a close frame may wait behind pending frames, and then
// for the peer's closing reply, before the connection is closed without them (a peer
// that does not read).
const closeGrace = time.Second

// conn is one WebSocket connection: the wshost.Transport of its object socket. Its
// read loop (readLoop) runs on the connection's goroutine; its writes run on the
// server's flushers (sockwrite.go).
type conn struct {
	s   *Server
	hs  wshost.Socket
	ws  *websocket.Conn // reads; writes bypass it (sockwrite.go)
	nc  net.Conn
	raw *rawWriter // nil when the connection has no descriptor to write to without waiting

	upgraded chan struct{} // closed once the connection is a WebSocket
	wdone    chan struct{} // closed once the writer is done (writeDone)
	frames   []*wshost.Frame

	mu     sync.Mutex
	code   int // what hs.Closed is told: the peer's close, or CloseAbnormal
	reason string
	clean  bool
	// the writer, under mu
	wstate     uint8
	again      bool     // work came while a round ran
	rest       []byte   // the unwritten end of a partial write
	ctl        [][]byte // pings and pongs to write
	closing    []byte   // the close frame, once Close was called
	closeTaken bool     // the close frame is written or in rest
}

func (c *conn) result() (int, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code, c.reason, c.clean
}

func (c *conn) setResult(code int, reason string, clean bool) {
	c.mu.Lock()
	c.code, c.reason, c.clean = code, reason, clean
	c.mu.Unlock()
}

func (s *Server) newUpgrader() *websocket.Upgrader {
	return &websocket.Upgrader{
		CheckOrigin: s.originOK,
		// A small read buffer of the socket's own (net/http's 4 KiB one is freed when
		// the upgrading handler returns); larger messages are read in several calls.
		// Gorilla writes only its own rare close frames (protocol errors), from a
		// pool: a socket holds no write buffer.
		ReadBufferSize:  1024,
		WriteBufferSize: 1024,
		WriteBufferPool: &sync.Pool{},
	}
}

// serveConn upgrades the request, starts the object socket and reads until the
// connection ends; then the object socket learns how it closed. It runs on a
// goroutine of its own (not net/http's), which holds no reference to the request
// once it is upgraded.
func (s *Server) serveConn(w http.ResponseWriter, r *http.Request, c *conn, done chan struct{}) {
	defer close(done)
	defer s.sockets.Done()
	ws, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		s.log.Debug("server: upgrade failed", "err", err)
		c.hs.Closed(c.result())
		return
	}
	c.ws, c.nc = ws, ws.NetConn()
	if sc, ok := c.nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			c.raw = newRawWriter(rc)
		}
	}
	s.pings.add(c)
	c.hs.Start(c)
	close(c.upgraded)
	c.readLoop()
	s.pings.remove(c)
	c.mu.Lock()
	pending := c.closing != nil
	c.mu.Unlock()
	if pending {
		<-c.wdone // the close frame is out, or closeGrace passed
	}
	c.abort()
	c.hs.Closed(c.result())
}

// readLoop delivers received messages to the object socket until the connection
// fails or closes. A peer's close frame is answered with the same code.
func (c *conn) readLoop() {
	s, ws := c.s, c.ws
	wait := s.cfg.PingInterval + s.cfg.PongTimeout
	ws.SetReadLimit(s.cfg.MaxMessageSize)
	ws.SetReadDeadline(time.Now().Add(wait))
	ws.SetPongHandler(func(string) error {
		ws.SetReadDeadline(time.Now().Add(wait))
		c.hs.Seen()
		return nil
	})
	ws.SetPingHandler(func(data string) error {
		c.control(appendFrame(nil, opPong, []byte(data)))
		return nil
	})
	ws.SetCloseHandler(func(code int, text string) error {
		if code == websocket.CloseNoStatusReceived {
			c.closeWith(closeFrame(object.CloseNoStatus, ""))
		} else {
			c.closeWith(closeFrame(code, ""))
		}
		return nil
	})
	for {
		op, b, err := ws.ReadMessage()
		if err != nil {
			c.readFailed(err)
			return
		}
		if c.closingNow() {
			// Our close frame is on its way: what the peer sent after it is not
			// delivered (the close code told it what to resend).
			continue
		}
		switch {
		case op == websocket.BinaryMessage:
			c.hs.Receive(true, b)
		case !utf8.Valid(b):
			// RFC 6455 §8.1: a text frame that is not UTF-8 fails the connection.
			c.setResult(websocket.CloseInvalidFramePayloadData, "text frame is not valid UTF-8", false)
			c.Close(websocket.CloseInvalidFramePayloadData, "text frame is not valid UTF-8")
		default:
			c.hs.Receive(false, b)
		}
	}
}

// readFailed records how the connection ended for OnClose.
func (c *conn) readFailed(err error) {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure:
		c.setResult(ce.Code, ce.Text, true)
	case errors.Is(err, websocket.ErrReadLimit):
		// gorilla has sent the peer a 1009 close frame.
		c.setResult(object.CloseMessageTooBig, "message too big", false)
		c.hs.Error(err)
	}
}
