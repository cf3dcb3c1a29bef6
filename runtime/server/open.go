package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// Host is an app's runtime and server on one data directory, without a listener:
// an http.Handler for in-process tests, or for mounting an app inside another server.
type Host struct {
	*Server
	Runtime *object.Runtime
	leave   func() // leaves the cluster (JoinOnOpen), after the runtime closed
}

// Open starts app on dataDir as Run does, without flags or a listener. When
// JoinOnOpen registered dataDir, the Host is a node of that cluster.
func Open(app App, dataDir string) (*Host, error) {
	rcfg := app.Runtime
	rcfg.DataDir = dataDir
	var leave func()
	if j, ok := joinFor(dataDir); ok {
		if j.f.Advertise == "" {
			return nil, errors.New("server: JoinOnOpen needs ClusterFlags.Advertise")
		}
		app.Cluster, app.Runtime = j.c, rcfg
		if app.Runtime.Logger == nil {
			app.Runtime.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
		var err error
		if leave, err = joinCluster(context.Background(), &app, j.f, nil, app.Runtime.Logger); err != nil {
			return nil, err
		}
		rcfg = app.Runtime
	}
	rt, err := object.New(rcfg)
	if err != nil {
		if leave != nil {
			leave()
		}
		return nil, err
	}
	scfg := app.Server
	if scfg.Assets == nil {
		scfg.Assets = app.Assets
	}
	s := New(rt, scfg)
	h := &Host{Server: s, Runtime: rt, leave: leave}
	if app.Setup != nil {
		if err := app.Setup(rt, s); err != nil {
			rt.Close()
			if leave != nil {
				leave()
			}
			return nil, fmt.Errorf("setup: %w", err)
		}
	}
	return h, nil
}

// Close shuts the server down as the binary does (turns finish, sockets are closed
// with 1012) and then closes the runtime, and leaves the cluster if it joined one.
func (h *Host) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := errors.Join(h.Shutdown(ctx), h.Runtime.Close())
	if h.leave != nil {
		h.leave()
	}
	return err
}

// JoinOnOpen makes every Open of dataDir, until undo is called, join the cluster f
// describes through c, as Run does for a process started with the cluster flags:
// the Host is then one node of it, and its Close leaves the cluster. f needs
// Advertise, the address this node's HTTP is served at (Open has no listener to
// take it from). It is for harnesses that run a cluster's nodes in one process
// through an app's own Open, so that tests written for one server run unchanged
// against a cluster. Open fails as Run would on bad flags or an admin token.
func JoinOnOpen(dataDir string, c Cluster, f ClusterFlags) (undo func()) {
	key := filepath.Clean(dataDir)
	joinsMu.Lock()
	joins[key] = openJoin{c: c, f: f}
	joinsMu.Unlock()
	return func() {
		joinsMu.Lock()
		delete(joins, key)
		joinsMu.Unlock()
	}
}

type openJoin struct {
	c Cluster
	f ClusterFlags
}

var (
	joinsMu sync.Mutex
	joins   = map[string]openJoin{}
)

func joinFor(dataDir string) (openJoin, bool) {
	joinsMu.Lock()
	defer joinsMu.Unlock()
	j, ok := joins[filepath.Clean(dataDir)]
	return j, ok
}
