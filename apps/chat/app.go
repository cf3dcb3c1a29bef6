package main

import (
	"context"
	"crypto/rand"
	"embed"
	"net/http"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// dist holds the bundled front end (web/dist, built by `npm run build`).
//
//go:embed all:web/dist
var dist embed.FS

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

// newApp is the chat app on one data directory as an http.Handler, for in-process
// tests; Close shuts it down as the binary does (sockets closed with 1012).
func newApp(dataDir string, limits Limits) (*server.Host, error) {
	return server.Open(chatApp(limits), dataDir)
}

// chatApp describes the binary: name, default address, front end and namespaces.
func chatApp(limits Limits) server.App {
	return server.App{Name: "chat", Addr: "127.0.0.1:8787", Assets: server.Dist(dist, "web/dist"), Setup: setup(limits)}
}
