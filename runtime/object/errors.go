package object

import "errors"

// Errors callers can act on, all of the package's sentinels; test with errors.Is. An
// application's own refusals are *Error values (apperror.go), not sentinels.
var (
	// ErrOverloaded: the object's queue is full or too old. Never retry: it makes the overload worse.
	ErrOverloaded = errors.New("object: overloaded")
	// ErrRetryable: a transient failure (a commit that did not become durable, a storage
	// error); the call had no effect and may be retried if it is idempotent.
	ErrRetryable = errors.New("object: retryable")
	// ErrIndeterminate: the call's commit may or may not have become durable (in
	// cluster mode, its append to the object's log went unanswered). Unlike
	// ErrRetryable it does not mean "no effect": retry only an idempotent call.
	ErrIndeterminate = errors.New("object: commit outcome unknown")
	// ErrCorrupt: the object's database file is damaged (SQLite reports SQLITE_CORRUPT or
	// SQLITE_NOTADB). Retrying cannot help: the object stays unusable until an operator
	// restores its file from a backup. The runtime never modifies the damaged file.
	ErrCorrupt = errors.New("object: database corrupt")
	// ErrNotFound: no such namespace or method.
	ErrNotFound = errors.New("object: not found")
	// ErrInvalidID: a malformed ID, or one minted by another namespace.
	ErrInvalidID = errors.New("object: invalid ID")
	// ErrInvalidName: a namespace or method name outside [a-z][a-z0-9_-]{0,62}.
	ErrInvalidName = errors.New("object: invalid name")
	// ErrSQLNotAllowed: user SQL tried to manage transactions, touch reserved tables, or attach files.
	ErrSQLNotAllowed = errors.New("object: SQL not allowed")
	// ErrNotInTurn: storage was used outside one of the object's turns.
	ErrNotInTurn = errors.New("object: storage used outside a turn")
	// ErrDeadlock: a turn called an object that is, directly or through other objects,
	// waiting for a call to the caller: the call would never return.
	ErrDeadlock = errors.New("object: call cycle would deadlock")
	// ErrTimeout: a turn ran longer than Config.TurnTimeout; it was rolled back and the
	// object reset.
	ErrTimeout = errors.New("object: turn exceeded its time limit")
	// ErrClosed: the runtime is shut down.
	ErrClosed = errors.New("object: runtime closed")
	// ErrLocked: another process is serving the same data directory.
	ErrLocked = errors.New("object: data directory in use by another process")
	// ErrNoHandler: SetAlarm or Schedule on an object whose type has no Alarm or
	// OnSchedule handler: nothing could ever fire.
	ErrNoHandler = errors.New("object: no handler")
	// ErrTooLarge: a key, value or argument is over its limit.
	ErrTooLarge = errors.New("object: too large")
	// ErrInvalidArgument: an operator's request is malformed (a bad cursor, an unknown
	// sort order, a backup that does not match its target).
	ErrInvalidArgument = errors.New("object: invalid argument")
	// ErrBadSpec is wrapped by every error about a malformed schedule spec.
	ErrBadSpec = errors.New("object: bad schedule spec")
	// ErrSchemaTooNew: the object's database has a schema version newer than the
	// migrations this build knows (it was written by a newer build); see Migrate.
	ErrSchemaTooNew = errors.New("object: schema newer than this build")
)

// Errors of the socket API; test with errors.Is.
var (
	// ErrTooManySockets: the object already has SocketConfig.MaxPerObject sockets.
	ErrTooManySockets = errors.New("object: too many sockets for this object")
	// ErrSocketClosed: the socket is closed or closing; nothing more can be sent.
	ErrSocketClosed = errors.New("object: socket closed")
	// ErrNoWebSockets: the namespace's type has no OnMessage handler.
	ErrNoWebSockets = errors.New("object: objects of this namespace do not accept WebSockets")
)

// PanicError is the error a turn returns when its handler panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return "object: handler panicked: " + sprint(e.Value) }
