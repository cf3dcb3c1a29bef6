// Package object is Warren's programming model: named, single-instance,
// single-threaded objects, each with its own SQLite database, in the spirit of
// Cloudflare Durable Objects.
//
// A [Runtime] hosts namespaces registered with [Register]. Each namespace has a
// constructor, RPC methods declared with [NewMethod] and listed with [Methods], and
// optional handlers (HTTP, WebSocket, alarm) implemented by the object type. A [Stub] addresses one object by
// [ID]: [Namespace.IDFromName] (deterministic, keyed by the namespace),
// [Namespace.NewUniqueID] or [Namespace.IDFromString].
//
// # Guarantees
//
//   - One live instance per ID in a process, and one process per data directory (a
//     lock on the directory itself enforces it). Every event for an object (RPC call,
//     HTTP request, WebSocket message, alarm) runs as a turn, one at a time, in arrival
//     order per caller. Object state needs no locks.
//   - The constructor runs inside a turn of its own before the first event after
//     every activation, so it can load state and migrate its schema atomically. Its
//     [State.OnCommit] callbacks and [State.Go] work run once that commits.
//   - Every turn is a transaction. Its writes, through [Storage] and [SQL], commit
//     together or not at all. A turn that returns an error or panics is rolled back
//     and the instance is dropped; the next event rebuilds it from storage. A panic
//     in an OnCommit callback or in State.Go work is recovered and logged too, and
//     drops the instance; the process and the other objects go on ([Stats].Panics).
//   - Turn time limit: each handler, constructor, alarm or schedule handler, and the
//     OnCommit callbacks of a batch run under [Config.TurnTimeout] ([DefaultTurnTimeout], 30 s) of wall time.
//     At the limit the turn's context is cancelled (user SQL is interrupted, calls to
//     other objects end) and the turn fails with [ErrTimeout], rolled back, its
//     instance dropped, even if it returns nil afterwards. A turn still running a
//     second later (it ignores its context) is abandoned: its batch fails, the database
//     is closed under it and the object starts again from storage for its next events;
//     what the abandoned goroutine does afterwards reaches no storage ([ErrNotInTurn]).
//     So no caller, no other event of the object and no [Runtime.Close] waits longer
//     than the limit plus a second, whatever user code does.
//   - Calls between objects: a call that would close a cycle (a calls b while b, or an
//     object b is waiting for, calls a) fails at once with [ErrDeadlock], whatever
//     contexts the calls carry; the turn's context ends when the turn does.
//   - User SQL cannot end or escape the turn's transaction. Refused with
//     [ErrSQLNotAllowed]: BEGIN, COMMIT, ROLLBACK, SAVEPOINT, ATTACH, pragmas outside a
//     read-only allow-list, the runtime's tables (_warren_*), and the ROLLBACK conflict
//     resolution (OR ROLLBACK, ON CONFLICT ROLLBACK, RAISE(ROLLBACK)), which would roll
//     back every turn of the batch. A deferred foreign-key violation fails the turn that
//     leaves it, not the batch. Nothing commits but the runtime's COMMIT: if SQLite
//     still rolls the transaction back (a schema made before these rules, an I/O
//     error), every turn of the batch fails with [ErrRetryable] and none of it is stored.
//   - Output gate: a turn's results (RPC results, HTTP responses, [State.OnCommit]
//     callbacks, and the WebSocket messages built on them) are released only after
//     its commit is durable, and dropped if the commit fails. No client can observe
//     a write that a crash could take back.
//   - Group commit: turns that queue up while a commit is in progress are run in one
//     transaction, a savepoint each, with one fsync for the batch (SQLite
//     synchronous=FULL by default).
//   - An object with no events for [Config.IdleTimeout] ([DefaultIdleTimeout], 10 s) is evicted: its
//     instance is dropped and its database closed. The next event re-runs the
//     constructor. An evicted object has no goroutine and costs only its file.
//   - At most [Config.MaxOpen] ([DefaultMaxOpen], 256) databases are open at any moment, after a restart
//     with many overdue alarms too. An activation that finds them all open evicts the
//     least recently used idle object (one with pending State.Go work closes its
//     database but keeps its instance for the continuation); if every open object is
//     running a turn, it waits in line, first come first served, until one finishes
//     (at most the turn time limit). An object's database is closed and its
//     [Placement] released before it can be activated again.
//   - Back-pressure: at most [Config.MaxQueue] events wait per object, and at most
//     [Config.MaxQueueBytes] ([DefaultMaxQueueBytes], 16 MiB) of request bodies per object and
//     [Config.MaxQueueBytesTotal] ([DefaultMaxQueueBytesTotal], 128 MiB) in all, counted until their turn is done
//     even if the client left; beyond them, and for events that waited longer than
//     [Config.MaxQueueDelay], calls fail with [ErrOverloaded], which must not be
//     retried. [ErrRetryable] means the call had no
//     effect and may be retried if idempotent. [ErrCorrupt] means the object's
//     database file is damaged: retrying cannot help, it must be restored from a
//     backup (the runtime leaves the file as it is).
//   - A WebSocket message is never dropped silently: one that cannot be delivered to
//     its object (the object is overloaded, the message waited longer than
//     [Config.MaxQueueDelay], or its batch failed to commit) closes its socket with
//     [CloseTryAgainLater] (1013), so that the client reconnects and resends; 1011 if
//     the object cannot be constructed, 1012 while the runtime shuts down. OnClose is
//     exempt from the queue bounds, retried if its turn could not run, and runs only
//     for a socket whose OnConnect committed.
//
// # Alarms and schedules
//
// An object has one alarm ([State.SetAlarm], handled by [AlarmHandler]) and any
// number of named schedules ([State.Schedule] with [At], [After], [Every] or [Cron],
// handled by [ScheduleHandler]). They are stored in the object's database and written
// in the turn's transaction. Delivery is at least once and never early: the handler
// runs as a turn of the object (activating it if evicted, after a restart too) at or
// after the due time. A handler that fails or panics is rolled back and retried after
// 2 s × 2ⁿ (±25 % jitter), [Config.AlarmRetries] ([DefaultAlarmRetries], 6) times; the occurrence is
// retired (deleted, or moved to the next repeat) only in the transaction of a
// successful run. A failing Alarm handler that set a new alarm is not retried: the
// new alarm replaces the retry, as in Durable Objects. Each due occurrence is read
// again just before its handler runs, so a handler that deletes or postpones another
// due schedule prevents or moves its firing, and retiring an occurrence never deletes
// a newer one. Due times are wall-clock times: if the clock steps back, an alarm waits
// until the clock reaches its time again; if it jumps ahead (a resumed virtual
// machine), the alarms now due fire within a second. Setting an alarm adds no I/O of
// its own to the turn's commit in the common case (an alarm moved later); a runtime-
// wide index, written in batches across objects, only says when to wake which object.
//
// Object databases live at DataDir/<namespace>/<2 hex digits>/<id>.sqlite: names
// never reach the file system. An object and its file are created by its first event.
// From the network (the [Endpoint] methods a host routes /parties/<namespace>/<name>
// to), a request that no handler of the type accepts creates nothing, and a namespace
// registered with [ExistingOnly] reaches only objects that already exist, so that only
// the app's Go code creates them ([ExistingOnlyHTTP]: HTTP requests only, sockets may
// create).
//
// # Operating
//
// [Runtime.ListObjects] pages through a namespace's objects (name, ID, size, last
// activity, open or evicted, sockets) from a catalogue (DataDir/catalog.sqlite) that
// commits feed through memory and a flusher writes once a second without fsync; it is
// rebuilt by a scan after a crash, and no object database is opened to list.
// [Runtime.DeleteObject] removes an object for good, [Runtime.Backup],
// [Runtime.Restore] and [Runtime.RestoreFile] save and restore objects while the app
// serves, [Runtime.ExportJSON] and [Runtime.ExportSQLite] export one, [Runtime.Query]
// runs an operator's SQL (read-only unless asked, enforced by SQLite), and
// [Runtime.Inspect] and [Runtime.TopObjects] show one object and the busiest. They
// take namespaces by name and work on a data directory whose app is stopped too
// (cmd/warren).
//
// The interfaces [Placement] and [Committer] are the seams for running one namespace
// across several processes; [LocalPlacement] and [LocalCommitter] serve one process.
package object
