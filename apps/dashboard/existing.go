package main

import (
	"net/http"

	"github.com/warrenhq/warren/runtime/object"
)

// streamEndpoint mounts the stream namespace at /parties/stream/ so that reading a
// stream creates nothing: a GET (info, query, poll) of a stream that does not exist
// answers 404 instead of creating its database file (issue 14 finding 12: 300 GETs of
// random names left 300 files). A stream is created by what writes to it: POST
// events, an ingest socket, a viewer socket (a page showing a new stream waits for
// its first events), the operator's polls and the self stream.
type streamEndpoint struct{ ns *object.Namespace[Stream] }

func (e streamEndpoint) Name() string { return e.ns.Name() }

func (e streamEndpoint) ServeObject(w http.ResponseWriter, r *http.Request, name string) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !e.ns.Exists(name) {
		writeError(w, http.StatusNotFound, "no such stream: nothing has been sent to "+name+" yet", nil)
		return
	}
	e.ns.ServeObject(w, r, name)
}

func (e streamEndpoint) AcceptSocket(r *http.Request, name, connID string) (*object.HostSocket, error) {
	return e.ns.AcceptSocket(r, name, connID)
}
