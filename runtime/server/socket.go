package server

import (
	"errors"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"

	"github.com/warrenhq/warren/runtime/object"
)

const connKey = "warren"

// closeGrace is how long a close frame may wait behind pending frames before the
// connection is closed without it (a peer that does not read).
const closeGrace = time.Second

// conn is one melody session's link to its object socket; it is the object.Transport.
type conn struct {
	hs *object.HostSocket
	s  *melody.Session

	upgraded chan struct{} // closed once the connection is a WebSocket

	mu      sync.Mutex
	code    int
	reason  string
	clean   bool
	closing bool
}

func (c *conn) result() (int, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code, c.reason, c.clean
}

func (c *conn) Write(binary bool, data []byte) {
	if binary {
		c.s.WriteBinary(data)
	} else {
		c.s.Write(data)
	}
}

// Close queues a close frame (melody's buffer always has room for it: the socket keeps
// at most object.MaxInflight frames in it) and, if the peer does not take it within
// closeGrace, writes it out of band and closes the TCP connection.
func (c *conn) Close(code int, reason string) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.mu.Unlock()
	msg := melody.FormatCloseMessage(code, reason)
	c.s.CloseWithMsg(msg)
	time.AfterFunc(closeGrace, func() {
		if c.s.IsClosed() {
			return
		}
		ws := c.s.WebsocketConnection()
		ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(100*time.Millisecond))
		ws.Close()
	})
}

func sessionConn(s *melody.Session) *conn {
	v, _ := s.Get(connKey)
	c, _ := v.(*conn)
	return c
}

func (s *Server) newMelody() *melody.Melody {
	m := melody.New()
	m.Config.MaxMessageSize = s.cfg.MaxMessageSize
	m.Config.PingPeriod = s.cfg.PingInterval
	m.Config.PongWait = s.cfg.PingInterval + s.cfg.PongTimeout
	m.Config.WriteWait = s.cfg.WriteTimeout
	m.Config.MessageBufferSize = object.MaxInflight + 2
	m.Upgrader.CheckOrigin = s.hosts.originOK
	// A small read buffer of the socket's own (net/http's 4 KiB one is freed when the
	// upgrading handler returns) and pooled write buffers: an idle socket holds no
	// write buffer. Larger messages are read in several calls.
	m.Upgrader.ReadBufferSize = 1024
	m.Upgrader.WriteBufferSize = 1024
	m.Upgrader.WriteBufferPool = &sync.Pool{}
	m.HandleConnect(func(ms *melody.Session) {
		c := sessionConn(ms)
		c.s = ms
		ms.Request = nil // melody never reads it again; the object has its own copy
		c.hs.Start(c)
		close(c.upgraded)
	})
	m.HandleMessage(func(ms *melody.Session, b []byte) {
		c := sessionConn(ms)
		if !utf8.Valid(b) {
			// RFC 6455 §8.1: a text frame that is not UTF-8 fails the connection.
			c.mu.Lock()
			c.code, c.reason = websocket.CloseInvalidFramePayloadData, "text frame is not valid UTF-8"
			c.mu.Unlock()
			c.Close(websocket.CloseInvalidFramePayloadData, "text frame is not valid UTF-8")
			return
		}
		c.hs.Receive(false, b)
	})
	m.HandleMessageBinary(func(ms *melody.Session, b []byte) { sessionConn(ms).hs.Receive(true, b) })
	m.HandleSentMessage(func(ms *melody.Session, _ []byte) { sessionConn(ms).hs.Sent() })
	m.HandleSentMessageBinary(func(ms *melody.Session, _ []byte) { sessionConn(ms).hs.Sent() })
	m.HandlePong(func(ms *melody.Session) { sessionConn(ms).hs.Seen() })
	m.HandleError(func(ms *melody.Session, err error) {
		c := sessionConn(ms)
		if c == nil {
			return
		}
		var ce *websocket.CloseError
		switch {
		case errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure:
			c.mu.Lock()
			c.code, c.reason, c.clean = ce.Code, ce.Text, true
			c.mu.Unlock()
		case errors.Is(err, websocket.ErrReadLimit):
			c.mu.Lock()
			c.code, c.reason = object.CloseMessageTooBig, "message too big"
			c.mu.Unlock()
			c.hs.Error(err)
		case errors.Is(err, melody.ErrMessageBufferFull):
			// Cannot happen while the socket respects MaxInflight; never drop silently.
			go c.Close(object.CloseTryAgainLater, "send queue overflow")
		}
	})
	return m
}
