package object

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
)

// Endpoint is a namespace as a host mounts it, without its type parameter.
// *Namespace[T] implements it.
type Endpoint interface {
	// Name is the namespace's name.
	Name() string
	// ServeObject delivers an HTTP request to the object named name (see ServeHTTP).
	// A host passes r with its URL path cut to what follows /parties/<ns>/<name>
	// ("/" when nothing does), so an object routes on its own paths (http.ServeMux
	// patterns such as "GET /state" work inside it).
	ServeObject(w http.ResponseWriter, r *http.Request, name string)
	// AcceptSocket reserves a socket on the object named name, for connection ID
	// connID. It fails with ErrNoWebSockets or ErrTooManySockets before any upgrade.
	AcceptSocket(r *http.Request, name, connID string) (*HostSocket, error)
}

// An Option configures a namespace at Register.
type Option func(*nsCore)

// ExistingOnly makes the namespace's network endpoints, ServeObject and AcceptSocket
// (what runtime/server routes /parties/<namespace>/<name> to), reach only objects
// that already exist: for any other name they answer 404 (ErrNotFound) and create
// nothing. The app's Go code then creates objects on purpose, with a Method.Call,
// RunLocal or a ServeHTTP of its own (say when a user creates a document). Without
// it, a request for a new name creates that object and its database file, which
// suits objects that anyone may create, such as chat rooms.
func ExistingOnly() Option { return func(c *nsCore) { c.existingOnly = true } }

// ExistingOnlyHTTP is ExistingOnly for HTTP requests only (ServeObject): a WebSocket
// may still create an object by its name, an HTTP request for a name that has no
// object answers 404 and creates nothing. It suits objects that anyone opens by name
// with a socket, such as a shared document or a game room, whose HTTP API reads them.
func ExistingOnlyHTTP() Option { return func(c *nsCore) { c.existingOnlyHTTP = true } }

// Exists reports whether the object named name exists: its database was created (by
// any request, call or socket) and not deleted.
func (ns *Namespace[T]) Exists(name string) bool { return ns.core.exists(ns.IDFromName(name)) }

func (c *nsCore) exists(id ID) bool {
	if cl := c.rt.cfg.Cluster; cl != nil {
		return cl.Exists(c.name, id) // this node's disk may not have it yet
	}
	_, err := os.Lstat(c.rt.dbPath(c.name, id))
	return !errors.Is(err, fs.ErrNotExist)
}

// reachable fails with ErrNotFound when the namespace is ExistingOnly (or, for an HTTP
// request, ExistingOnlyHTTP) and the object has no database yet.
func (c *nsCore) reachable(id ID, httpRequest bool) error {
	if !c.existingOnly && !(httpRequest && c.existingOnlyHTTP) {
		return nil
	}
	if !c.exists(id) {
		return fmt.Errorf("%w: no such %s object", ErrNotFound, c.name)
	}
	return nil
}

// ServeObject is ServeHTTP(w, r, GetByName(name)), after the ExistingOnly and
// ExistingOnlyHTTP checks.
func (ns *Namespace[T]) ServeObject(w http.ResponseWriter, r *http.Request, name string) {
	stub := ns.GetByName(name)
	if err := ns.core.reachable(stub.id, true); err != nil {
		code, msg := HTTPStatus(err)
		http.Error(w, msg, code)
		return
	}
	ns.ServeHTTP(w, r, stub)
}

// AcceptSocket implements Endpoint. It fails with ErrNotFound (and ErrNoWebSockets)
// when T has no OnMessage, with ErrNotFound for a new object of an ExistingOnly
// namespace, and with the error of T's OnBeforeConnect, which runs first as a turn.
func (ns *Namespace[T]) AcceptSocket(r *http.Request, name, connID string) (*HostSocket, error) {
	if _, ok := any((*T)(nil)).(MessageHandler); !ok {
		return nil, fmt.Errorf("%w: %w: %s", ErrNoWebSockets, ErrNotFound, ns.core.name)
	}
	id := ns.IDFromName(name)
	if err := ns.core.reachable(id, false); err != nil {
		return nil, err
	}
	if _, ok := any((*T)(nil)).(BeforeConnectHandler); ok {
		err := ns.core.do(r.Context(), id, func(ctx context.Context, inst any) error {
			return inst.(BeforeConnectHandler).OnBeforeConnect(ctx, r)
		})
		if err != nil {
			return nil, crossing(err)
		}
	}
	return ns.core.rt.sockets().reserve(ns.core, id, connID, r)
}
