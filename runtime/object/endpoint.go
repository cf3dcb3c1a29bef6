package object

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
)

// Endpoint is a namespace as a host mounts it, without its type parameter.
// *Namespace[T] implements it.
type Endpoint interface {
	// Name is the namespace's name.
	Name() string
	// ServeObject delivers an HTTP request to the object named name, or addressed by
	// ID (see AddressableByID), as ServeHTTP does. A host passes r with its URL path
	// cut to what follows /parties/<ns>/<name> ("/" when nothing does), so an object
	// routes on its own paths (http.ServeMux patterns such as "GET /state" work
	// inside it).
	ServeObject(w http.ResponseWriter, r *http.Request, name string)
	// AcceptSocket reserves a socket on the object named (or addressed) name, for
	// connection ID connID. It fails with ErrNoWebSockets or ErrTooManySockets before
	// any upgrade.
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

// IDPrefix starts an object's address by ID in a network endpoint's name (see
// AddressableByID): /parties/<namespace>/id:<the ID's 64 hex digits>.
const IDPrefix = "id:"

// AddressableByID makes the namespace's network endpoints (ServeObject, AcceptSocket:
// what runtime/server routes /parties/<namespace>/<name> to) reach an object by its
// ID as well as by its name: the name IDPrefix + id.String() addresses the object id
// (one made with NewUniqueID, say, whose ID the app hands to its clients). An
// address that is not a valid ID of this namespace (not 64 lowercase hex digits, or
// minted by another namespace) fails with ErrInvalidID (400); ExistingOnly applies
// as to names. Without it, a name starting with IDPrefix is a name like any other.
func AddressableByID() Option { return func(c *nsCore) { c.byID = true } }

// IDFromAddress returns the ID that name, as a network endpoint receives it,
// addresses: IDFromString of what follows IDPrefix when the namespace is
// AddressableByID and name starts with it (ErrInvalidID when that is not an ID of
// this namespace), else IDFromName(name).
func (ns *Namespace[T]) IDFromAddress(name string) (ID, error) { return ns.core.address(name) }

// IDFromAddress is [Namespace.IDFromAddress] for the namespace registered as ns: the
// ID of the object that ServeObject and AcceptSocket serve for name. A server that
// must know the object before it serves (a cluster node locating its owner) resolves
// with it, never with ParseObject, whose operator syntax reads names differently. It
// fails with ErrNotFound when no namespace is registered as ns.
func (rt *Runtime) IDFromAddress(ns, name string) (ID, error) {
	c, err := rt.lookupNamespace(ns)
	if err != nil {
		return ID{}, err
	}
	return c.address(name)
}

func (c *nsCore) address(name string) (ID, error) {
	if hexID, ok := strings.CutPrefix(name, IDPrefix); ok && c.byID {
		return c.keys.parse(hexID)
	}
	return c.keys.fromName(name), nil
}

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

// ServeObject is ServeHTTP(w, r, GetByName(name)) (or Get of the ID name addresses,
// see AddressableByID), after the ExistingOnly and ExistingOnlyHTTP checks.
func (ns *Namespace[T]) ServeObject(w http.ResponseWriter, r *http.Request, name string) {
	id, err := ns.core.address(name)
	if err == nil {
		err = ns.core.reachable(id, true)
	}
	if err != nil {
		code, msg := HTTPStatus(err)
		http.Error(w, msg, code)
		return
	}
	ns.ServeHTTP(w, r, ns.Get(id))
}

// AcceptSocket implements Endpoint. It fails with ErrNotFound (and ErrNoWebSockets)
// when T has no OnMessage, with ErrNotFound for a new object of an ExistingOnly
// namespace, and with the error of T's OnBeforeConnect, which runs first as a turn.
func (ns *Namespace[T]) AcceptSocket(r *http.Request, name, connID string) (*HostSocket, error) {
	if _, ok := any((*T)(nil)).(MessageHandler); !ok {
		return nil, fmt.Errorf("%w: %w: %s", ErrNoWebSockets, ErrNotFound, ns.core.name)
	}
	id, err := ns.core.address(name)
	if err != nil {
		return nil, err
	}
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
