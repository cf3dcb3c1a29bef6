package main

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"io/fs"
	"net/http"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

//go:embed all:web/dist
var dist embed.FS

// assets is the bundled front end (web/dist, built by `npm run build`).
func assets() fs.FS {
	sub, err := fs.Sub(dist, "web/dist")
	if err != nil {
		panic(err)
	}
	return sub
}

// setup registers the "chat" namespace (one Room per room name) and sends / to a
// new random room.
func setup(limits Limits) func(rt *object.Runtime, s *server.Server) error {
	return func(rt *object.Runtime, s *server.Server) error {
		ns, err := object.Register(rt, "chat", func(ctx context.Context, st *object.State) (*Room, error) {
			return newRoom(ctx, st, limits)
		})
		if err != nil {
			return err
		}
		s.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/"+randomRoom(), http.StatusFound)
		}))
		return s.Mount(ns)
	}
}

// randomRoom returns a 10-character room name of lowercase letters and digits.
func randomRoom() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 10)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// app is the chat app on one data directory as an http.Handler, for in-process
// tests; Close shuts it down as the binary does (sockets closed with 1012).
type app struct {
	*server.Server
	rt *object.Runtime
}

func newApp(dataDir string, limits Limits) (*app, error) {
	rt, err := object.New(object.Config{DataDir: dataDir})
	if err != nil {
		return nil, err
	}
	s := server.New(rt, server.Config{Assets: assets()})
	if err := setup(limits)(rt, s); err != nil {
		rt.Close()
		return nil, err
	}
	return &app{Server: s, rt: rt}, nil
}

func (a *app) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := a.Shutdown(ctx)
	return errors.Join(err, a.rt.Close())
}
