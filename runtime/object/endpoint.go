package object

import (
	"fmt"
	"net/http"
)

// Endpoint is a namespace as a host mounts it, without its type parameter.
// *Namespace[T] implements it.
type Endpoint interface {
	// Name is the namespace's name.
	Name() string
	// ServeObject delivers an HTTP request to the object named name (see ServeHTTP).
	ServeObject(w http.ResponseWriter, r *http.Request, name string)
	// AcceptSocket reserves a socket on the object named name, for connection ID
	// connID. It fails with ErrNoWebSockets or ErrTooManySockets before any upgrade.
	AcceptSocket(r *http.Request, name, connID string) (*HostSocket, error)
}

// ServeObject is ServeHTTP(w, r, GetByName(name)).
func (ns *Namespace[T]) ServeObject(w http.ResponseWriter, r *http.Request, name string) {
	ns.ServeHTTP(w, r, ns.GetByName(name))
}

// AcceptSocket implements Endpoint.
func (ns *Namespace[T]) AcceptSocket(r *http.Request, name, connID string) (*HostSocket, error) {
	if _, ok := any((*T)(nil)).(MessageHandler); !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoWebSockets, ns.core.name)
	}
	return ns.core.rt.sockets().reserve(ns.core, ns.IDFromName(name), connID, r)
}
