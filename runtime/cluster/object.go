package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Object is one activation of an object on this node: it owns the object (a claim
// and an EPOCH record in the log), its local SQLite file reflects the log, and every
// batch committed to that file goes through Commit. An Object is used by one
// goroutine at a time (the object's turns are serial); Close ends the activation.
type Object struct {
	n    *Node
	key  string
	path string
	log  objectLog
	inc  string // the node incarnation it was opened under
	objState

	cursor walCursor
	// needBase: the log holds no database yet, so the next commit ships every page.
	needBase bool
	// broken is set once the local file may differ from the log (an append failed
	// or its outcome is unknown): every later Commit fails with it.
	broken error
	// fencedAfter: the log's tail that this activation's EPOCH record was appended
	// after (0 when fence appended none, or does not know what it followed).
	fencedAfter uint64
}

// maxWarm bounds how many closed objects a node remembers the log state of.
const maxWarm = 1 << 16

// objState is what an Object knows of its log, kept between activations on the same
// node so a re-activation under the same claim can reuse the local file.
type objState struct {
	claim      Claim
	lastSeq    uint64   // the log's last record, which the local file reflects
	lastAt     int64    // its commit time (Unix nanoseconds; 0 for a version 1 record)
	base       uint64   // where a restore of the state at lastSeq starts (record.start)
	snap       blobRef  // the latest snapshot ("" for none)
	batchBlobs []string // BLOB records' blobs since that snapshot
	sinceSnap  int64    // bytes appended since that snapshot
	recsSince  int      // records appended since that snapshot
}

// Open activates the object namespace/id on this node, its database file at path.
// It claims the object (an *OwnedError names the owner if another live node has it),
// fences the object's log with an EPOCH record, and restores path from the log
// (snapshot, then the records after it) unless the file there is this node's own
// up-to-date copy. The restored file passed PRAGMA integrity_check. For an object
// the log holds nothing of, any file at path is removed: the caller creates a new
// database there, which the first Commit ships whole.
func (n *Node) Open(ctx context.Context, namespace, id, path string) (*Object, error) {
	key := objectKey(namespace, id)
	self, _ := n.lease.current()
	if !n.lease.valid(self.Incarnation) {
		return nil, ErrLeaseExpired
	}
	n.mu.Lock()
	if n.open[key] {
		n.mu.Unlock()
		return nil, fmt.Errorf("cluster: %s/%s is already open on this node", namespace, id)
	}
	n.open[key] = true
	warm, haveWarm := n.warm[key]
	delete(n.warm, key)
	n.mu.Unlock()
	o := &Object{n: n, key: key, path: path, log: n.objectLog(key), inc: self.Incarnation}
	err := o.activate(ctx, warm, haveWarm)
	if err != nil {
		n.mu.Lock()
		delete(n.open, key)
		n.mu.Unlock()
		return nil, err
	}
	return o, nil
}

// slowActivation: an activation that took longer is logged with the time of each
// of its steps (where a failover's time goes).
const slowActivation = 2 * time.Second

func (o *Object) activate(ctx context.Context, warm objState, haveWarm bool) (err error) {
	start := time.Now()
	var claimed, fenced time.Duration
	defer func() {
		if d := time.Since(start); d > slowActivation {
			o.n.cfg.Logger.Warn("cluster: slow activation", "key", o.key[:8], "took", d.Round(time.Millisecond),
				"claim", claimed.Round(time.Millisecond), "fence", fenced.Round(time.Millisecond), "err", err)
		}
	}()
	claim, err := claimObject(ctx, o.n.a.owners, o.n.a.nodes, o.key, Claim{Node: o.n.cfg.Name, Incarnation: o.inc})
	claimed = time.Since(start)
	if err != nil {
		return err
	}
	o.claim = claim
	err = o.fence(ctx)
	fenced = time.Since(start) - claimed
	if err != nil {
		return err
	}
	if haveWarm && warm.claim == o.claim && warm.lastSeq == o.lastSeq {
		if _, err := os.Stat(o.path); err == nil {
			o.objState = warm
			return nil
		}
	}
	// This node's own file under an earlier claim (its lease lapsed, it registered
	// again and claimed anew), with nothing appended after it but this claim's EPOCH
	// record: the file still reflects the log.
	if haveWarm && warm.claim.Node == o.claim.Node && warm.lastSeq != 0 && o.fencedAfter == warm.lastSeq {
		if _, err := os.Stat(o.path); err == nil {
			claim, last, at := o.claim, o.lastSeq, o.lastAt
			o.objState = warm
			o.claim, o.lastSeq, o.lastAt = claim, last, at
			return nil
		}
	}
	return o.restore(ctx)
}

// fence makes the log's tail this owner's: it appends an EPOCH record after the tail,
// unless the tail already carries this claim's epoch. A newer epoch at the tail
// means this claim was superseded: ErrFenced.
func (o *Object) fence(ctx context.Context) error {
	for attempt := range claimAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
		seq, tail, err := o.log.last(ctx)
		if err != nil {
			return err
		}
		epoch := tail.epoch
		if seq == 0 {
			epoch = 0
		}
		switch {
		case epoch > o.claim.Epoch:
			return fmt.Errorf("%w: the log has epoch %d, this claim %d", ErrFenced, epoch, o.claim.Epoch)
		case epoch == o.claim.Epoch && seq != 0:
			if o.base, err = o.log.start(ctx, seq, tail); err != nil {
				return err
			}
			o.lastSeq, o.lastAt, o.fencedAfter = seq, tail.at, 0
			return nil
		}
		var base uint64
		if seq != 0 {
			if base, err = o.log.start(ctx, seq, tail); err != nil {
				return err
			}
		}
		m := meta{at: max(o.n.now(), tail.at), base: base}
		actx, cancel := context.WithTimeout(ctx, writeWithin(attempt))
		s, err := o.log.append(actx, encodeEpoch(o.claim.Epoch, o.claim.Node, m), seq, false)
		cancel()
		if errors.Is(err, ErrFenced) {
			continue // the previous owner squeezed in a last record: read the tail again
		}
		if (errors.Is(err, ErrIndeterminate) || unanswered(err)) && ctx.Err() == nil {
			continue // unanswered, maybe appended: the tail tells (this epoch, or not)
		}
		if err != nil {
			return err
		}
		o.lastSeq, o.lastAt, o.base, o.fencedAfter = s, m.at, base, seq
		return nil
	}
	return fmt.Errorf("cluster: fence %s: the log kept moving", o.log.subject)
}

// Epoch is the epoch of this activation's claim.
func (o *Object) Epoch() uint64 { return o.claim.Epoch }

// Commit makes one batch durable in the cluster: it calls commit (SQLite's COMMIT on
// the object's connection), reads the log frames the commit wrote, and appends them
// to the object's log after the last record this owner wrote. It returns nil only
// once the append is acknowledged by the log's replicas; only then may the batch's
// outputs be released. Without calling commit, it fails when the node's lease is not
// valid (ErrLeaseExpired), ctx is done, or the activation is broken; after commit, it fails with
// ErrFenced when a newer owner fenced the log, ErrIndeterminate when the append's
// outcome is unknown. After any failure past commit the local file holds a commit the
// cluster may not have: the Object is broken and the caller must close it and drop
// its instance (the next Open restores the file).
func (o *Object) Commit(ctx context.Context, commit func() error) error {
	if o.broken != nil {
		return o.broken
	}
	if !o.n.lease.valid(o.inc) && !unfenced {
		return ErrLeaseExpired
	}
	if err := ctx.Err(); err != nil {
		return err // nothing committed
	}
	if err := commit(); err != nil {
		return err
	}
	var ps *pageSet
	var err error
	if o.needBase {
		ps, err = o.cursor.fullImage(o.path)
	} else {
		ps, err = o.cursor.readCommitted(o.path)
	}
	if err != nil {
		o.broken = fmt.Errorf("cluster: read the commit's log frames: %w", err)
		return o.broken
	}
	if ps.empty() {
		return nil // a read-only batch
	}
	if err := o.appendPages(ctx, ps, o.needBase); err != nil {
		o.broken = err
		return err
	}
	o.needBase = false
	return nil
}

// SnapshotDue reports whether SnapshotBytes or SnapshotRecords were appended to the
// log since its last snapshot: the caller should run Snapshot once its connection
// is idle (after the batch's outputs were released, off the turn path).
func (o *Object) SnapshotDue() bool {
	return o.broken == nil && !o.needBase &&
		(o.sinceSnap >= o.n.cfg.SnapshotBytes || o.recsSince >= o.n.cfg.SnapshotRecords)
}

// Close ends the activation. The node keeps what it knows of the log, so the next
// Open under the same claim reuses the file at path if nothing was appended since.
// The caller must have closed its database connection first.
func (o *Object) Close() {
	o.n.mu.Lock()
	defer o.n.mu.Unlock()
	delete(o.n.open, o.key)
	if o.broken == nil && !o.needBase {
		for k := range o.n.warm {
			if len(o.n.warm) < maxWarm {
				break
			}
			delete(o.n.warm, k) // any one: a miss only costs a restore
		}
		o.n.warm[o.key] = o.objState
	}
}

// appendPages appends one batch's pages after the last record: inline as a FRAMES
// record when it fits in a message, else as a blob in the object store and a BLOB
// record pointing at it (a blob whose record is rejected is an orphan nobody reads).
// full: ps is the whole database (a restore starts from it).
func (o *Object) appendPages(ctx context.Context, ps *pageSet, full bool) error {
	m := meta{at: o.now(), base: o.base, full: full}
	rec := encodeFrames(o.claim.Epoch, ps, m)
	size := int64(len(rec))
	var blobName string
	if len(rec) > o.n.maxRecord {
		blobName = fmt.Sprintf("%s/batch-%d-%d", o.key, o.claim.Epoch, o.lastSeq)
		ref, err := o.n.putBlob(ctx, blobName, bytes.NewReader(rec))
		if err != nil {
			return fmt.Errorf("cluster: store a %d-byte batch: %w", len(rec), err)
		}
		rec = encodeBlob(kindBlob, o.claim.Epoch, ref, m)
	}
	seq, err := o.log.appendRetrying(ctx, rec, o.lastSeq)
	if err != nil {
		if blobName != "" && !errors.Is(err, ErrIndeterminate) {
			o.n.deleteBlobs(blobName) // refused for certain: no record points at it
		}
		return err
	}
	o.lastSeq, o.lastAt = seq, m.at
	if full {
		o.base = seq
	}
	o.sinceSnap += size
	o.recsSince++
	if blobName != "" {
		o.batchBlobs = append(o.batchBlobs, blobName)
	}
	return nil
}

// now is the commit time of the next record: the node's wall clock, never before the
// log's last record.
func (o *Object) now() int64 { return max(o.n.now(), o.lastAt) }
