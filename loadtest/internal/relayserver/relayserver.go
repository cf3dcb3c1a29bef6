// Package relayserver is a small WebSocket relay used to test the load
// tester and to measure it: every text or binary message received on a
// room's socket is sent to every socket of the room (the URL path), the
// sender included unless NoSelf is set. Faults can be injected per
// receiving socket, deterministically, so tests can assert exact counts.
//
// It is built on gorilla/websocket, an implementation independent of the
// tester's own client.
package relayserver

import (
	"bytes"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Options configure a Server. The zero value relays faithfully.
type Options struct {
	NoSelf bool // do not send a message back to its sender
	// Chat sends {"type":"all","messages":[]} to each new socket, like the
	// durable-chat-template server.
	Chat bool

	// Faults, counted per receiving socket over its deliveries (1-based);
	// 0 disables each. They apply in this order.
	DropEvery    int // drop delivery k when k%DropEvery == 0
	DupEvery     int // send delivery k twice
	ReorderEvery int // hold delivery k and send it after delivery k+1
	GarbageEvery int // send a non-protocol text frame before delivery k
	CloseAfter   int // close the socket (code 1011) after delivery k
	StallAfter   int // stop writing to the socket after delivery k
	// RefuseEvery refuses message k of each sender when k%RefuseEvery == 0: it
	// goes back to its sender alone as a chat refusal (an "update" with an
	// "error" member, as Warren's chat tells a template client), to no one else.
	RefuseEvery int

	// WriteTimeout bounds each write (default 10 s).
	WriteTimeout time.Duration
}

// Server relays messages within rooms. It implements http.Handler.
type Server struct {
	opt Options
	up  websocket.Upgrader

	mu    sync.Mutex
	rooms map[string]*room
	conns atomic.Int64
	msgs  atomic.Int64
}

type room struct {
	members atomic.Pointer[[]*member] // copy-on-write under Server.mu
}

type member struct {
	ws *websocket.Conn

	mu     sync.Mutex
	n      int
	sent   int // messages received from this socket
	held   []byte
	stall  bool
	closed bool
}

// New returns a server with options opt.
func New(opt Options) *Server {
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = 10 * time.Second
	}
	return &Server{
		opt:   opt,
		rooms: map[string]*room{},
		up: websocket.Upgrader{
			CheckOrigin:     func(*http.Request) bool { return true },
			WriteBufferPool: &sync.Pool{},
		},
	}
}

// Conns returns the number of open sockets.
func (s *Server) Conns() int { return int(s.conns.Load()) }

// Received returns the number of messages received from clients.
func (s *Server) Received() int64 { return s.msgs.Load() }

// ServeHTTP upgrades the request and relays its messages until it closes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.conns.Add(1)
	defer s.conns.Add(-1)
	m := &member{ws: ws}
	if s.opt.Chat { // before joining: no broadcast can write concurrently yet
		m.write(websocket.TextMessage, []byte(`{"type":"all","messages":[]}`), s.opt.WriteTimeout)
	}
	rm := s.join(r.URL.Path, m)
	defer s.leave(r.URL.Path, rm, m)
	for {
		op, p, err := ws.ReadMessage()
		if err != nil {
			ws.Close()
			return
		}
		s.msgs.Add(1)
		if m.sent++; s.opt.RefuseEvery > 0 && m.sent%s.opt.RefuseEvery == 0 {
			refusal := bytes.Replace(p, []byte(`{"type":"add"`), []byte(`{"type":"update","error":{"code":"rate_limited"}`), 1)
			m.mu.Lock()
			m.write(op, refusal, s.opt.WriteTimeout)
			m.mu.Unlock()
			continue
		}
		for _, o := range *rm.members.Load() {
			if o == m && s.opt.NoSelf {
				continue
			}
			s.deliver(o, op, p)
		}
	}
}

func (s *Server) join(path string, m *member) *room {
	s.mu.Lock()
	defer s.mu.Unlock()
	rm := s.rooms[path]
	if rm == nil {
		rm = &room{}
		rm.members.Store(&[]*member{})
		s.rooms[path] = rm
	}
	old := *rm.members.Load()
	next := append(append(make([]*member, 0, len(old)+1), old...), m)
	rm.members.Store(&next)
	return rm
}

func (s *Server) leave(path string, rm *room, m *member) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *rm.members.Load()
	next := make([]*member, 0, len(old))
	for _, o := range old {
		if o != m {
			next = append(next, o)
		}
	}
	rm.members.Store(&next)
	if len(next) == 0 {
		delete(s.rooms, path)
	}
}

func (m *member) write(op int, p []byte, d time.Duration) error {
	m.ws.SetWriteDeadline(time.Now().Add(d))
	return m.ws.WriteMessage(op, p)
}

func (s *Server) deliver(m *member, op int, p []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.stall {
		return
	}
	m.n++
	k, o := m.n, s.opt
	on := func(every int) bool { return every > 0 && k%every == 0 }
	if on(o.DropEvery) {
		return
	}
	if on(o.GarbageEvery) {
		m.write(websocket.TextMessage, []byte("\x00garbage{"), o.WriteTimeout)
	}
	switch {
	case on(o.ReorderEvery):
		m.held = append(m.held[:0], p...)
	case m.held != nil:
		m.write(op, p, o.WriteTimeout)
		m.write(op, m.held, o.WriteTimeout)
		m.held = nil
	default:
		m.write(op, p, o.WriteTimeout)
	}
	if on(o.DupEvery) {
		m.write(op, p, o.WriteTimeout)
	}
	if o.CloseAfter > 0 && k >= o.CloseAfter {
		m.closed = true
		m.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseInternalServerErr, "fault"), time.Now().Add(time.Second))
		m.ws.Close()
	}
	if o.StallAfter > 0 && k >= o.StallAfter {
		m.stall = true
	}
}
