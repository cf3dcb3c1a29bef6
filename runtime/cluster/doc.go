// Package cluster runs Warren objects across several node processes on NATS
// JetStream: embedded nats-server instances clustered by routes ([StartServer]), or an
// external NATS cluster. It is the engine behind cluster mode; package object keeps
// no NATS types, and a process that does not configure cluster mode neither starts
// nor links NATS (it does not import this package).
//
// A node ([Join]) holds a lease in a KV bucket. An object is activated on a node with
// [Node.Open], which claims it, fences its log and restores its SQLite file; every
// committed batch then goes through [Object.Commit] before its outputs may be
// released.
//
// # Guarantees
//
//   - Membership: a node serves only while its lease is valid by its own monotonic
//     clock: until the send time of its last successful renewal plus the lease TTL
//     minus a margin. Renewals are compare-and-set on the node's last revision. A node
//     is declared dead only by a write (a tombstone created once its key expired),
//     after which its renewals fail.
//   - Ownership: at most one claim per object at a time, won by compare-and-set;
//     among concurrent claimants exactly one wins. Claims are sticky while their node
//     lives; each new claim has a larger epoch.
//   - Fencing: every record of an object's log is appended with the sequence of the
//     record it follows. A new owner appends an EPOCH record first; every later append
//     by an earlier owner fails with [ErrFenced], whatever the clocks, pauses or
//     partitions. Epochs never decrease along a log.
//   - Durability: Commit returns nil only after the batch's pages are acknowledged by
//     the log's replicas (R3 in a cluster; servers fsync every write, and
//     StartServer refuses a configuration that does not, [ErrUnsafeServer]).
//   - Restore: a new owner rebuilds the file from the latest snapshot plus the
//     records after it, checks it with PRAGMA integrity_check before it replaces
//     anything, and gets the committed content byte for byte.
//
// # What the runtime must do (the seam)
//
// The database must be opened in WAL mode with wal_autocheckpoint=0: only this
// package checkpoints (when it snapshots), so no committed frame can leave the log
// before it was shipped; a log restarted behind its back breaks the object rather
// than shipping a partial state. Open must run before the runtime opens the file and
// Close after it closed it. An error from Commit after commit ran means the local
// file holds a commit the cluster may not have: the runtime must drop the instance
// and close the database (the next Open restores it), and it must not report "no
// effect" for [ErrIndeterminate].
//
// # External clusters
//
// An external NATS cluster must run JetStream with sync_interval: always on every
// server (with the default interval, acknowledged writes can be lost on power loss:
// Jepsen's NATS 2.12.1 analysis) and have at least three servers for R3. A client
// cannot check the servers' sync setting: it is the operator's duty.
package cluster
