package main

import (
	"context"
	"embed"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// dist holds the bundled front end (web/dist, built by `npm run build`).
//
//go:embed all:web/dist
var dist embed.FS

// compactions counts compactions of every document, for /metrics.
var compactions atomic.Int64

// app is the binary, for main and tests.
func app(p Policy) server.App {
	return server.App{Name: "collab-editor", Addr: "127.0.0.1:8789", Assets: server.Dist(dist, "web/dist"), Setup: setup(p)}
}

// setup registers the namespaces "document" (mounted at /parties/document/<name>)
// and "index" (the document list, reached through /api/docs), and mounts the
// read-only endpoint /parties/view/<token>.
func setup(p Policy) func(rt *object.Runtime, s *server.Server) error {
	return func(rt *object.Runtime, s *server.Server) error {
		// A socket to any name opens (and creates) that document, as in y-websocket;
		// HTTP reaches only documents that exist (a socket or POST /api/docs created
		// them), so that GETs of guessed names create no files.
		docs, err := object.Register(rt, "document", func(ctx context.Context, st *object.State) (*Document, error) {
			return newDocument(ctx, st, p)
		}, object.ExistingOnlyHTTP(), documentMethods)
		if err != nil {
			return err
		}
		idx, err := object.Register(rt, "index", newIndex, indexMethods)
		if err != nil {
			return err
		}
		all := idx.GetByName("all")

		s.Handle("/api/docs", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !allowMethods(w, r, http.MethodGet, http.MethodPost) {
				return
			}
			if r.Method == http.MethodGet {
				reply(w)(listDocs.Call(r.Context(), all))
				return
			}
			var a createArgs
			if !decodeJSONBody(w, r, &a) {
				return
			}
			if a.Name != "" {
				if err := server.ValidName(a.Name); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
			}
			d, err := createDoc.Call(r.Context(), all, a)
			if err == nil { // the document exists from now on: its HTTP API answers before anyone joins it
				err = docs.RunLocal(r.Context(), docs.GetByName(d.Name), func(context.Context, *Document) error { return nil })
			}
			reply(w)(d, err)
		}))
		s.Handle("/api/docs/:name", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !allowMethods(w, r, http.MethodGet, http.MethodPatch) {
				return
			}
			name := strings.TrimPrefix(r.URL.Path, "/api/docs/")
			if r.Method == http.MethodGet {
				reply(w)(docInfo.Call(r.Context(), all, name))
				return
			}
			var a createArgs
			if !decodeJSONBody(w, r, &a) {
				return
			}
			a.Name = name
			reply(w)(renameDoc.Call(r.Context(), all, a))
		}))
		s.AddMetric(server.Metric{Name: "collab_editor_compactions_total", Help: "Document log compactions into a snapshot.", Type: "counter",
			Value: func() float64 { return float64(compactions.Load()) }})
		if err := s.Mount(newTextEndpoint(docs, p.withDefaults().TextSteps)); err != nil {
			return err
		}
		return s.Mount(&viewEndpoint{docs: docs, index: all})
	}
}

// reply adapts object.ReplyJSON to a (value, error) pair.
func reply(w http.ResponseWriter) func(v any, err error) {
	return func(v any, err error) { object.ReplyJSON(w, v, err) }
}
