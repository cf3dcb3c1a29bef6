package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// Snapshot stores the whole database in the object store and appends a SNAP record
// pointing at it: a restore starts from it and replays only what came after it. The
// records and blobs before it stay, as the object's history, until the retention
// sweep purges them (history.go); without history (HistoryRetention negative) the
// SNAP is appended with a rollup, so the log starts at it, and the blobs the
// rolled-up records pointed at are deleted afterwards. The SNAP append is fenced like
// every other (a replaced owner's snapshot is rejected and its blob deleted).
//
// It must run between batches, with the object's own connection idle: it
// checkpoints the log into the database file (and truncates the log) on a connection
// of its own. When the checkpoint cannot finish (a reader is busy) it does nothing.
// A snapshot that fails after the checkpoint breaks nothing: the log is as before.
func (o *Object) Snapshot(ctx context.Context) error {
	if o.broken != nil {
		return o.broken
	}
	if o.needBase {
		return nil // nothing committed yet
	}
	if !o.n.lease.valid(o.inc) {
		return ErrLeaseExpired
	}
	// Anything committed but not yet shipped would be folded into the file unseen.
	if ps, err := o.cursor.readCommitted(o.path); err != nil || !ps.empty() {
		return fmt.Errorf("cluster: snapshot with unshipped frames (%v)", err)
	}
	done, err := checkpointTruncate(ctx, o.path)
	if err != nil || !done {
		return err
	}
	o.cursor.reset()
	f, err := os.Open(o.path)
	if err != nil {
		return err
	}
	defer f.Close()
	name := fmt.Sprintf("%s/snap-%d-%d", o.key, o.claim.Epoch, o.lastSeq)
	ref, err := o.n.putBlob(ctx, name, f)
	if err != nil {
		return fmt.Errorf("cluster: store snapshot: %w", err)
	}
	at := o.now()
	seq, err := o.log.append(ctx, encodeBlob(kindSnap, o.claim.Epoch, ref, meta{at: at, base: o.base}), o.lastSeq, !o.n.keepsHistory())
	if err != nil {
		if errors.Is(err, ErrFenced) || errors.Is(err, ErrIndeterminate) {
			o.broken = err // replaced, or the log's tail is unknown
		}
		if !errors.Is(err, ErrIndeterminate) {
			o.n.deleteBlobs(name)
		}
		return err
	}
	garbage := o.batchBlobs
	if o.snap.name != "" {
		garbage = append(garbage, o.snap.name)
	}
	o.lastSeq, o.lastAt, o.base, o.snap, o.batchBlobs, o.sinceSnap, o.recsSince = seq, at, seq, ref, nil, 0, 0
	if !o.n.keepsHistory() {
		o.n.deleteBlobs(garbage...)
	}
	return nil
}
