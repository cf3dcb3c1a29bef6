package object

import (
	"context"
	"time"
)

// The seams below are where scale-out plugs in (several processes sharing one
// namespace). Each has a local implementation that a single process uses.

// Placement decides which process may run an object. Acquire is called before an
// object activates, and before an operator holds it (a delete, a restore, a SQL
// console write: Runtime.DeleteObject, RestoreFile, Query with Write); release is
// called when it is evicted, or when the operator is done. An error refuses the
// activation or the operator's request.
type Placement interface {
	Acquire(ctx context.Context, namespace string, id ID) (release func(), err error)
}

// Committer makes one batch of turns durable, and an operator's SQL console write
// (Runtime.Query with Write, counted as one turn). commit runs SQLite's COMMIT; an
// implementation may do more (ship WAL frames to replicas) before returning nil.
// Outputs of the batch are released only after Commit returns nil; on error the
// batch is rolled back and the object is reset.
type Committer interface {
	Commit(ctx context.Context, namespace string, id ID, turns int, commit func() error) error
}

// LocalPlacement owns every object: the data-directory lock already guarantees
// that no other process serves the same objects.
type LocalPlacement struct{}

// Acquire always succeeds.
func (LocalPlacement) Acquire(context.Context, string, ID) (func(), error) { return func() {}, nil }

// LocalCommitter commits to the local SQLite file only.
type LocalCommitter struct{}

// Commit runs commit.
func (LocalCommitter) Commit(_ context.Context, _ string, _ ID, _ int, commit func() error) error {
	return commit()
}

// ElsewhereError means the object is owned, or should be owned, by another node of
// a cluster: Node names it, Addr is its advertised HTTP address ("" if unknown).
// Every entry point that activates an object (an HTTP request, a WebSocket, an RPC,
// an operator's hold) returns it, possibly wrapped, so that the caller can route the
// request there (errors.As with a **ElsewhereError). The request had no effect here.
type ElsewhereError struct {
	Node string
	Addr string
}

func (e *ElsewhereError) Error() string {
	return "object: owned by node " + e.Node + " (" + e.Addr + ")"
}

// Cluster is what a runtime that is one node of a cluster needs beyond Placement and
// Committer; nil (the default) for a single process. Package cluster implements it
// (Node.Attach sets it with the other seams).
type Cluster interface {
	// Start is called by New once the runtime is ready, before New returns; an
	// error fails New. Stop is called by Close once every object is closed.
	Start(rt *Runtime) error
	Stop()
	// Invoke runs an RPC method (JSON argument and result) on an object that the
	// node named by to owns, with the semantics of a local call: the result arrives
	// after the turn committed there, and its error keeps its meaning (an *Error,
	// ErrRetryable, ErrOverloaded, ErrNotFound, ...).
	Invoke(ctx context.Context, to *ElsewhereError, namespace string, id ID, method string, arg []byte) ([]byte, error)
	// AlarmDue records where every node can see it the object's earliest due alarm
	// (has false: none left), so that whichever node owns the object after a failover
	// wakes it. Before a batch commits (committed false) it returns once the record
	// is durable, at least when due moved earlier; after the commit (committed true)
	// it may write lazily. The calls of Placement, Committer and Cluster made by an
	// object's runner get a context that Close cancels (Config.CloseTimeout).
	AlarmDue(ctx context.Context, namespace string, id ID, due time.Time, has, committed bool) error
	// BatchDone is called by the object's runner after a batch committed and its
	// outputs were released, with the database idle: the time for maintenance off
	// the turn path (a snapshot). ctx ends when the runtime's Close stops waiting.
	BatchDone(ctx context.Context, namespace string, id ID)
	// Exists reports whether the cluster holds a database for the object (it may not
	// be on this node's disk yet).
	Exists(namespace string, id ID) bool
}
