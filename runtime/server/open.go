package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// Host is an app's runtime and server on one data directory, without a listener:
// an http.Handler for in-process tests, or for mounting an app inside another server.
type Host struct {
	*Server
	Runtime *object.Runtime
}

// Open starts app on dataDir as Run does, without flags or a listener.
func Open(app App, dataDir string) (*Host, error) {
	rcfg := app.Runtime
	rcfg.DataDir = dataDir
	rt, err := object.New(rcfg)
	if err != nil {
		return nil, err
	}
	scfg := app.Server
	if scfg.Assets == nil {
		scfg.Assets = app.Assets
	}
	s := New(rt, scfg)
	if app.Setup != nil {
		if err := app.Setup(rt, s); err != nil {
			rt.Close()
			return nil, fmt.Errorf("setup: %w", err)
		}
	}
	return &Host{Server: s, Runtime: rt}, nil
}

// Close shuts the server down as the binary does (turns finish, sockets are closed
// with 1012) and then closes the runtime.
func (h *Host) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(h.Shutdown(ctx), h.Runtime.Close())
}
