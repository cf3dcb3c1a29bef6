package object

import "context"

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
