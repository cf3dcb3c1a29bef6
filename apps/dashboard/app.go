package main

import (
	"context"
	"embed"
	"errors"
	"net/http"
	"os"
	"strconv"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// dist holds the bundled front end (web/dist, built by `npm run build`).
//
//go:embed all:web/dist
var dist embed.FS

// configFromEnv reads DASHBOARD_PUSH_RATE, DASHBOARD_POLL and DASHBOARD_POLL_EVERY.
func configFromEnv() (Config, error) {
	var c Config
	if v, err := strconv.ParseFloat(os.Getenv("DASHBOARD_PUSH_RATE"), 64); err == nil && v > 0 {
		c.PushRate = v
	}
	every := os.Getenv("DASHBOARD_POLL_EVERY")
	if every == "" {
		every = DefaultPollEvery
	}
	polls, err := parsePolls(os.Getenv("DASHBOARD_POLL"), every)
	if err != nil {
		return Config{}, err
	}
	c.Polls = polls
	return c, nil
}

// setup registers the "stream" namespace (one Stream per stream name), activates
// the self stream so that it starts sampling and the polled streams so that they
// start polling, and sends / to the self stream's board.
func setup(cfg Config) func(rt *object.Runtime, s *server.Server) error {
	cfg = cfg.withDefaults()
	return func(rt *object.Runtime, s *server.Server) error {
		ns, err := object.Register(rt, "stream", func(ctx context.Context, st *object.State) (*Stream, error) {
			return newStream(ctx, st, &cfg, rt)
		})
		if err != nil {
			return err
		}
		if err := s.Mount(streamEndpoint{ns}); err != nil {
			return err
		}
		if err := s.AddMetric(server.Metric{Name: "dashboard_events_ingested_total", Help: "Events accepted by the dashboard's streams.",
			Type: "counter", Value: func() float64 { return float64(eventsIngested.Load()) }}); err != nil {
			return err
		}
		for name := range cfg.Polls {
			if err := activate(ns, name); err != nil {
				return err
			}
		}
		home := "/s/" + cfg.SelfStream
		if cfg.SelfStream != "-" {
			// Activating the self stream creates its sampling schedule (durable: it
			// fires again after every restart).
			if err := activate(ns, cfg.SelfStream); err != nil {
				return err
			}
		} else {
			home = "/s/default"
		}
		s.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, home, http.StatusFound)
		}))
		return nil
	}
}

// activate activates the stream name (its constructor sets up its schedules). In
// cluster mode another node may own it: it is active there, which is as good.
func activate(ns *object.Namespace[Stream], name string) error {
	err := ns.RunLocal(context.Background(), ns.GetByName(name), func(context.Context, *Stream) error { return nil })
	if errors.As(err, new(*object.ElsewhereError)) {
		return nil
	}
	return err
}

// newApp is the dashboard in-process (browser tests): a server whose Close also
// closes the runtime.
func newApp(dataDir string, cfg Config) (*server.Host, error) {
	return server.Open(dashboardApp(cfg), dataDir)
}

// dashboardApp describes the binary: name, default address, front end and namespaces.
func dashboardApp(cfg Config) server.App {
	return server.App{Name: "dashboard", Addr: "127.0.0.1:8790", Assets: server.Dist(dist, "web/dist"), Setup: setup(cfg)}
}
