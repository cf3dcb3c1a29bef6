package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// reservationTTL is how long a seat handed out by the lobby stays reserved for a
// player who has not connected yet.
const reservationTTL = 10 * time.Second

// Lobby assigns players to game sessions: the fullest session with a free seat,
// or a new one when every session is at Capacity. This is the sharding: each
// session is its own object, so sessions spread over cores (and, later, nodes).
// Sessions report their player counts on every join and leave; counts are kept
// in the lobby's storage so they survive its eviction.
type Lobby struct {
	st       *object.State
	capacity int
	adm      *admission
	sessions map[string]*lobbySession
	next     int
}

type lobbySession struct {
	Players  int `json:"players"`
	reserved []time.Time
	at       int64 // At of the report Players came from
}

func newLobby(ctx context.Context, st *object.State, capacity int, adm *admission) (*Lobby, error) {
	l := &Lobby{st: st, capacity: capacity, adm: adm, sessions: map[string]*lobbySession{}}
	ents, err := st.Storage().List(object.ListOptions{Prefix: "s:"})
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		n, err := strconv.Atoi(string(e.Value))
		if err != nil {
			continue
		}
		name := strings.TrimPrefix(e.Key, "s:")
		l.sessions[name] = &lobbySession{Players: n}
	}
	if v, ok, err := st.Storage().Get("next"); err == nil && ok {
		l.next, _ = strconv.Atoi(string(v))
	}
	return l, nil
}

// JoinRequest asks the lobby for a session.
type JoinRequest struct {
	Spectate bool `json:"spectate,omitempty"` // watch the busiest session instead of playing
}

// JoinResponse names the session to connect to.
type JoinResponse struct {
	Session  string `json:"session"`
	Players  int    `json:"players"`
	Capacity int    `json:"capacity"`
	// Full: every session is full and the tick budget allows no new one (the
	// sessions running keep their tick rate); GET /api/join answers 503.
	Full bool `json:"full,omitempty"`
}

// SessionReport is a session's player count, sent on every join and leave.
type SessionReport struct {
	Session string `json:"session"`
	Players int    `json:"players"`
	Joined  bool   `json:"joined,omitempty"` // a player took a seat (a reservation is used up)
	// At orders reports: they travel outside the session's turns and may arrive out
	// of order, so a count older than the last one applied is ignored.
	At int64 `json:"at,omitempty"`
}

// SessionInfo is one session as the lobby lists it.
type SessionInfo struct {
	Session string `json:"session"`
	Players int    `json:"players"`
}

func (l *Lobby) load(name string, s *lobbySession, now time.Time) int {
	keep := s.reserved[:0]
	for _, t := range s.reserved {
		if now.Sub(t) < reservationTTL {
			keep = append(keep, t)
		}
	}
	s.reserved = keep
	return s.Players + len(s.reserved)
}

// Assign picks a session: for a player, the fullest one with a free seat (new
// sessions are created as needed, while the tick budget allows: else Full),
// reserving the seat; for a spectator, the busiest one.
func (l *Lobby) Assign(ctx context.Context, req JoinRequest) (JoinResponse, error) {
	now := l.st.Now()
	names := make([]string, 0, len(l.sessions))
	for n := range l.sessions {
		names = append(names, n)
	}
	sort.Strings(names)
	best, bestLoad := "", -1
	for _, n := range names {
		ld := l.load(n, l.sessions[n], now)
		if (req.Spectate || ld < l.capacity) && ld > bestLoad {
			best, bestLoad = n, ld
		}
	}
	if best == "" || (!req.Spectate && bestLoad < 0) {
		if !req.Spectate && l.adm.full() {
			return JoinResponse{Capacity: l.capacity, Full: true}, nil
		}
		l.next++
		best = fmt.Sprintf("s-%d", l.next)
		l.sessions[best] = &lobbySession{}
		if err := l.st.Storage().Put("next", []byte(strconv.Itoa(l.next))); err != nil {
			return JoinResponse{}, err
		}
		if err := l.st.Storage().Put("s:"+best, []byte("0")); err != nil {
			return JoinResponse{}, err
		}
	}
	s := l.sessions[best]
	if !req.Spectate {
		s.reserved = append(s.reserved, now)
	}
	return JoinResponse{Session: best, Players: s.Players, Capacity: l.capacity}, nil
}

// The lobby's RPC methods, listed when "lobby" is registered.
var (
	assignSession = object.NewMethod("assign", (*Lobby).Assign)
	reportSession = object.NewMethodNoResult("report", (*Lobby).Report)
	listSessions  = object.NewMethodNoArg("list", (*Lobby).List)
	lobbyMethods  = object.Methods(assignSession, reportSession, listSessions)
)

// Report records a session's player count. Empty sessions are forgotten.
func (l *Lobby) Report(ctx context.Context, r SessionReport) error {
	s := l.sessions[r.Session]
	if s == nil {
		s = &lobbySession{}
		l.sessions[r.Session] = s
	}
	if r.At >= s.at {
		s.Players, s.at = max(r.Players, 0), r.At
	}
	if r.Joined && len(s.reserved) > 0 {
		s.reserved = s.reserved[1:]
	}
	if s.Players == 0 && len(s.reserved) == 0 {
		delete(l.sessions, r.Session)
		_, err := l.st.Storage().Delete("s:" + r.Session)
		return err
	}
	return l.st.Storage().Put("s:"+r.Session, []byte(strconv.Itoa(s.Players)))
}

// List returns the sessions with players, busiest first.
func (l *Lobby) List(ctx context.Context) ([]SessionInfo, error) {
	out := []SessionInfo{}
	for n, s := range l.sessions {
		out = append(out, SessionInfo{Session: n, Players: s.Players})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Players != out[j].Players {
			return out[i].Players > out[j].Players
		}
		return out[i].Session < out[j].Session
	})
	return out, nil
}
