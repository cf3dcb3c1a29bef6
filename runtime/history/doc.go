// Package history keeps every object's committed states on the local disk for
// point-in-time recovery, as Durable Objects' bookmarks do (getBookmarkForTime,
// getCurrentBookmark, onNextSessionRestoreBookmark): a History is an
// object.History, set in object.Config.History.
//
// What is kept, per object, in its own folder under Config.Dir:
//
//   - base snapshots: a copy of the database after one commit, taken when history
//     starts for the object, after each restore, and when the last base is
//     Config.BaseInterval old;
//   - segments: every commit after a base, as the pages it wrote. They are archived
//     from the object's SQLite write-ahead log when the runtime checkpoints it: after
//     a batch once the log is past Config.CheckpointBytes, and before the database
//     closes. The runtime checkpoints only through the History (wal_autocheckpoint is
//     0), so no commit leaves the log unarchived. The runner does not wait for an
//     archive: its bulk is written and synced by a goroutine while the object goes
//     on committing, and the few commits made meanwhile are written by the runner,
//     their sync overlapping its checkpoint (archive.go). An archive is two writes
//     and two fsyncs per checkpoint, not per commit;
//   - the pending file: the time of each commit still in the log, appended after the
//     commit without an fsync (it survives a crash of the process; after a power loss
//     the commits whose times were lost are archived as one, at the log's
//     modification time).
//
// Guarantees. The state restored for a bookmark is exactly the object's database
// after that commit (the base with the commits after it applied, page by page, as
// SQLite's checkpoint applies them). A moment t maps to the last commit at or before
// t. Commit times never go back (a clock that does is clamped). After a crash at any
// point, the history is consistent (a segment cut short by the crash is cut back to
// its last whole record, and what it lost is still in the log) and the object's last
// acknowledged commit is restorable. Every file is checked when read (checksums,
// sizes, sequence numbers): a damaged or truncated file gives an error wrapping
// ErrCorrupt, never a wrong state. A bookmark names one commit of one object and is
// checked before anything is read (ErrBadBookmark).
//
// Retention: Sweep, run every Config.SweepInterval, deletes a base with the
// segments after it once the next base is older than Config.Retention; history
// reaches back at least Retention (and up to Retention + BaseInterval) for an
// object that is written, and the last base is always kept.
//
// Not covered: a program other than the runtime that writes or checkpoints an
// object's database (a sqlite3 shell on a stopped app's files) moves it past what
// the history holds; the runtime's own other connections are read-only, and its SQL
// console's writes are archived like a batch. Cluster mode keeps its history in the
// object's fenced log instead (package cluster); a History is not used there.
package history
