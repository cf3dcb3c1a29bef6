package main

import (
	"context"
	"embed"
	"net/http"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// dist holds the bundled front end (web/dist, built by `npm run build`).
//
//go:embed all:web/dist
var dist embed.FS

// Options tune the app (tests use small values). Zero fields take the defaults.
type Options struct {
	Capacity           int // players per session (default Capacity)
	MaxPerAddr         int // game sockets per client address (default MaxPerAddr; see admission.go)
	MaxSessionsPerAddr int // sessions a client address plays in (default MaxSessionsPerAddr)
	MaxSockets         int // game sockets in the process (default MaxSockets)
	MaxSessions        int // sessions with players, which tick, in the process (default MaxSessions)
}

func (o Options) withDefaults() Options {
	for _, f := range []struct {
		v *int
		d int
	}{{&o.Capacity, Capacity}, {&o.MaxPerAddr, MaxPerAddr}, {&o.MaxSessionsPerAddr, MaxSessionsPerAddr},
		{&o.MaxSockets, MaxSockets}, {&o.MaxSessions, MaxSessions}} {
		if *f.v <= 0 {
			*f.v = f.d
		}
	}
	return o
}

// globeApp describes the binary: name, default address, front end and namespaces.
func globeApp(opt Options) server.App {
	return server.App{Name: "multiplayer-globe", Addr: "127.0.0.1:8788", Assets: server.Dist(dist, "web/dist"), Setup: setup(opt)}
}

// setup registers the namespaces: "globe" (game sessions; "default" is the
// template's room), "lobby" (one object, "main") and "leaderboard" (one object,
// "all-time"), and the app's HTTP API.
func setup(opt Options) func(rt *object.Runtime, s *server.Server) error {
	opt = opt.withDefaults()
	return func(rt *object.Runtime, s *server.Server) error {
		adm := newAdmission(opt)
		lobbies, err := object.Register(rt, "lobby", func(ctx context.Context, st *object.State) (*Lobby, error) {
			return newLobby(ctx, st, opt.Capacity, adm)
		}, lobbyMethods)
		if err != nil {
			return err
		}
		boards, err := object.Register(rt, "leaderboard", newLeaderboard, boardMethods)
		if err != nil {
			return err
		}
		d := &deps{
			lobby:    lobbies.GetByName("main"),
			board:    boards.GetByName("all-time"),
			stats:    newTickStats(),
			adm:      adm,
			capacity: opt.Capacity,
		}
		// A socket to a session's name creates the session (the lobby's names, a
		// /session/<name> page, the template's "default"); HTTP only reads a session,
		// so GET of a name nobody played creates nothing (404).
		sessions, err := object.Register(rt, "globe", func(ctx context.Context, st *object.State) (*Session, error) {
			return newSession(ctx, st, d)
		}, object.ExistingOnlyHTTP())
		if err != nil {
			return err
		}
		s.Handle("/api/join", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			res, err := assignSession.Call(r.Context(), d.lobby, JoinRequest{Spectate: r.URL.Query().Get("spectate") == "1"})
			if err == nil && res.Full {
				w.Header().Set("Retry-After", "10")
				err = errAllFull
			}
			object.ReplyJSON(w, res, err)
		}))
		s.Handle("/api/sessions", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			res, err := listSessions.Call(r.Context(), d.lobby)
			object.ReplyJSON(w, res, err)
		}))
		s.Handle("/api/leaderboard", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			res, err := topScores.Call(r.Context(), d.board, LeaderboardSize)
			object.ReplyJSON(w, res, err)
		}))
		s.Handle("/api/stats", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			object.ReplyJSON(w, d.stats.Report(), nil)
		}))
		for _, m := range []server.Metric{
			{Name: "globe_ticks_total", Help: "Game ticks run.", Type: "counter", Value: func() float64 { return float64(d.stats.ticks.Load()) }},
			{Name: "globe_tick_cost_p99_seconds", Help: "99th percentile of a tick's work over the last 4096 ticks.", Type: "gauge", Value: func() float64 { return d.stats.Report().CostP99MS / 1000 }},
			{Name: "globe_tick_interval_p99_seconds", Help: "99th percentile of the time between ticks of a session over the last 4096 ticks.", Type: "gauge", Value: func() float64 { return d.stats.Report().GapP99MS / 1000 }},
		} {
			if err := s.AddMetric(m); err != nil {
				return err
			}
		}
		for _, ns := range []object.Endpoint{sessions} {
			if err := s.Mount(ns); err != nil {
				return err
			}
		}
		return nil
	}
}

// errAllFull answers /api/join when every session is full.
var errAllFull = object.NewError("full", "every session is full: try again later").WithStatus(http.StatusServiceUnavailable)

// newApp is the app on one data directory as an http.Handler, for in-process
// tests; Close shuts it down as the binary does (sockets closed with 1012).
func newApp(dataDir string, opt Options) (*server.Host, error) {
	return server.Open(globeApp(opt), dataDir)
}
