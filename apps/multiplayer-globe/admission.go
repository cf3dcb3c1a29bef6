package main

import (
	"sync"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// The tick budget. Every ticking session costs CPU 20 times a second, and every
// socket of it one write per tick, so what clients can make the process tick is
// bounded, process-wide:
//
//   - a client address (server.ClientAddr) has at most MaxPerAddr game sockets
//     (players and spectators, in any sessions) and plays in at most
//     MaxSessionsPerAddr sessions: beyond either, a socket is refused with 4429;
//   - the process has at most MaxSockets game sockets: beyond it, 1013 (try again
//     later);
//   - and at most MaxSessions sessions with players (the ones that tick): a player
//     who would start another is refused with 1013, and the lobby stops creating
//     sessions (GET /api/join answers 503), so the sessions running keep their
//     tick rate.
//
// The counts live in memory, shared by the process's sessions (like the tick
// statistics); the template room is not counted (it never ticks). A socket or a
// tick slot is counted as soon as its OnConnect admits it and confirmed when that
// turn commits (State.OnCommit); one whose turn was rolled back (its socket is
// closed without OnClose) is never confirmed and expires after pendingTTL.
// pendingTTL is how long an admission waits for its turn's commit.
const pendingTTL = 10 * time.Second

const (
	MaxPerAddr         = 256
	MaxSessionsPerAddr = 8
	MaxSockets         = 2048
	MaxSessions        = 64
)

// admission counts the game sockets and ticking sessions of the process.
type admission struct {
	opt Options

	mu       sync.Mutex
	sockets  map[*object.WebSocket]seat
	perAddr  map[string]int
	plays    map[string]map[string]int // address -> session -> its player sockets there
	sessions map[string]bool           // sessions holding a tick slot
	pending  map[any]time.Time         // sockets and slots not confirmed yet, by *object.WebSocket or session name
}

// seat is where an admitted socket counts.
type seat struct {
	addr    string
	session string // the session it plays in, "" for a spectator
}

func newAdmission(opt Options) *admission {
	return &admission{opt: opt.withDefaults(), sockets: map[*object.WebSocket]seat{}, perAddr: map[string]int{},
		plays: map[string]map[string]int{}, sessions: map[string]bool{}, pending: map[any]time.Time{}}
}

// confirm marks a socket or a session's slot as committed.
func (a *admission) confirm(key any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.pending, key)
}

// expire forgets what was admitted by turns that never committed.
func (a *admission) expire(now time.Time) {
	for key, at := range a.pending {
		if now.Sub(at) < pendingTTL {
			continue
		}
		delete(a.pending, key)
		switch k := key.(type) {
		case *object.WebSocket:
			a.releaseLocked(k)
		case string:
			delete(a.sessions, k)
		}
	}
}

// admit counts ws, from addr, pending its turn's commit, or refuses it with the
// close error to send.
func (a *admission) admit(ws *object.WebSocket, addr string, now time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.sockets[ws]; ok {
		return nil
	}
	a.expire(now)
	switch {
	case a.perAddr[addr] >= a.opt.MaxPerAddr:
		return &object.CloseError{Code: CloseTooManyAddr, Reason: "too many game connections from your address"}
	case len(a.sockets) >= a.opt.MaxSockets:
		return &object.CloseError{Code: object.CloseTryAgainLater, Reason: "the server is full: try again later"}
	}
	a.sockets[ws] = seat{addr: addr}
	a.perAddr[addr]++
	a.pending[ws] = now
	return nil
}

// play counts the admitted socket ws as a player of session, or refuses it when
// its address plays in MaxSessionsPerAddr other sessions.
func (a *admission) play(ws *object.WebSocket, session string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, ok := a.sockets[ws]
	if !ok || st.session != "" {
		return nil
	}
	in := a.plays[st.addr]
	if in[session] == 0 && len(in) >= a.opt.MaxSessionsPerAddr {
		return &object.CloseError{Code: CloseTooManyAddr, Reason: "playing in too many sessions from your address"}
	}
	if in == nil {
		in = map[string]int{}
		a.plays[st.addr] = in
	}
	in[session]++
	st.session = session
	a.sockets[ws] = st
	return nil
}

// release forgets an admitted socket; other sockets are ignored.
func (a *admission) release(ws *object.WebSocket) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.pending, ws)
	a.releaseLocked(ws)
}

func (a *admission) releaseLocked(ws *object.WebSocket) {
	st, ok := a.sockets[ws]
	if !ok {
		return
	}
	delete(a.sockets, ws)
	if a.perAddr[st.addr]--; a.perAddr[st.addr] <= 0 {
		delete(a.perAddr, st.addr)
	}
	if in := a.plays[st.addr]; st.session != "" && in != nil {
		if in[st.session]--; in[st.session] <= 0 {
			delete(in, st.session)
		}
		if len(in) == 0 {
			delete(a.plays, st.addr)
		}
	}
}

// hold gives session a tick slot, pending its turn's commit, or reports that none
// is free.
func (a *admission) hold(session string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sessions[session] {
		return true
	}
	a.expire(now)
	if len(a.sessions) >= a.opt.MaxSessions {
		return false
	}
	a.sessions[session] = true
	a.pending[session] = now
	return true
}

// keep gives session a tick slot, confirmed, over the budget if need be: a
// rebuilt session whose players are connected already.
func (a *admission) keep(session string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sessions[session] = true
	delete(a.pending, session)
}

// drop frees session's tick slot.
func (a *admission) drop(session string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, session)
	delete(a.pending, session)
}

// full reports whether no session may start ticking.
func (a *admission) full() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.sessions) >= a.opt.MaxSessions
}
