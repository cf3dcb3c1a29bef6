package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/warrenhq/warren/runtime/internal/bookmark"
	"github.com/warrenhq/warren/runtime/object"
)

// Point-in-time recovery in cluster mode: an object's fenced log, with its
// snapshots, is its history (issue 21). Guarantees:
//
//   - Every record carries its commit time (Config.Now, never going back along a
//     log): a moment maps to the log's last record at or before it, found by a binary
//     search over the log's sequences (one read each, about 2 log2 of the stream's
//     length).
//   - A bookmark names one record of one object's log: its sequence and commit time,
//     checked (CRC-32C over both and the object) before anything is read, in the
//     same 40-hex-digit form as a single node's (package history).
//   - The state at a bookmark is built as a new owner's restore builds the state at
//     the tail: from the latest snapshot at or before it (the record's base), then
//     the batches up to it; it passes integrity_check. A restore commits that state
//     as a SNAP record at the log's head, fenced like every append, so every node,
//     and every later restore, starts from it; the state it replaced stays in the log
//     (the undo bookmark).
//   - Retention: the records before an object's latest snapshot older than
//     HistoryRetention are purged (JetStream's purge by subject, up to a sequence),
//     then the blobs only they pointed at. A restore of the state at the tail never
//     reads what a purge removes (it starts from the latest snapshot); a bookmark
//     before the purge point fails with object.ErrNotFound.

// errBadBookmark: a malformed bookmark, or one of another object.
var errBadBookmark = fmt.Errorf("%w: bad bookmark", object.ErrInvalidArgument)

// encodeBookmark returns the bookmark of record seq (committed at at) of obj
// ("namespace/id"), in the form of a single node's (package internal/bookmark).
func encodeBookmark(obj string, seq uint64, at int64) string { return bookmark.Encode(obj, seq, at) }

// parseBookmark validates a bookmark of obj and returns its record.
func parseBookmark(obj, s string) (seq uint64, at int64, err error) {
	return bookmark.Parse(obj, s, errBadBookmark)
}

// recordAt reads the record at seq exactly: object.ErrNotFound when it is not on the
// log (purged, or never of this object).
func (l objectLog) recordAt(ctx context.Context, seq uint64) (record, error) {
	m, err := l.next(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) || err == nil && m.Sequence != seq {
		return record{}, fmt.Errorf("%w: record %d is not in the history kept (purged by retention, or not of this object)", object.ErrNotFound, seq)
	}
	if err != nil {
		return record{}, err
	}
	r, err := decodeRecord(m.Data)
	if err != nil {
		return record{}, fmt.Errorf("%w: record %d: %v", ErrCorrupt, seq, err)
	}
	return r, nil
}

// atOrBefore returns the log's last record committed at or before t (Unix
// nanoseconds) and its sequence, with upto the log's tail: a binary search over the
// sequences, each probe the first record at or after a sequence (commit times never
// go back along a log). object.ErrNotFound when the first record kept is after t.
func (l objectLog) atOrBefore(ctx context.Context, t int64, upto uint64) (uint64, record, error) {
	first, err := l.next(ctx, 1)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, record{}, fmt.Errorf("%w: the object has no history", object.ErrNotFound)
	}
	if err != nil {
		return 0, record{}, err
	}
	r, err := decodeRecord(first.Data)
	if err != nil {
		return 0, record{}, fmt.Errorf("%w: record %d: %v", ErrCorrupt, first.Sequence, err)
	}
	if r.at > t {
		return 0, record{}, fmt.Errorf("%w: %v is before the history kept (it starts at %v)", object.ErrNotFound,
			time.Unix(0, t).UTC(), time.Unix(0, r.at).UTC())
	}
	lo, hi, best := first.Sequence, upto+1, r // best is at lo; every record from hi on is after t
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		m, err := l.next(ctx, mid)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			hi = mid
			continue
		}
		if err != nil {
			return 0, record{}, err
		}
		if m.Sequence >= hi {
			hi = mid
			continue
		}
		mr, err := decodeRecord(m.Data)
		if err != nil {
			return 0, record{}, fmt.Errorf("%w: record %d: %v", ErrCorrupt, m.Sequence, err)
		}
		if mr.at > t {
			hi = mid
			continue
		}
		lo, best = m.Sequence, mr
	}
	return lo, best, nil
}

// historyObject is an object's key and log, named as a bookmark names it.
func (n *Node) historyObject(namespace, id string) (string, objectLog) {
	return namespace + "/" + id, n.objectLog(objectKey(namespace, id))
}

// errNoHistory refuses history requests on a node that keeps none.
func (n *Node) errNoHistory() error {
	if !n.keepsHistory() {
		return fmt.Errorf("%w: point-in-time recovery is off (HistoryRetention is negative)", object.ErrInvalidArgument)
	}
	return nil
}

// BookmarkForTime returns the bookmark of the object's state at t: its log's last
// record at or before t. object.ErrNotFound when t is before the history kept, or
// before the object's first commit.
func (n *Node) BookmarkForTime(ctx context.Context, namespace, id string, t time.Time) (string, error) {
	if err := n.errNoHistory(); err != nil {
		return "", err
	}
	obj, l := n.historyObject(namespace, id)
	tail, _, err := l.last(ctx)
	if err != nil {
		return "", err
	}
	if tail == 0 {
		return "", fmt.Errorf("%w: %s has no history", object.ErrNotFound, obj)
	}
	seq, r, err := l.atOrBefore(ctx, t.UnixNano(), tail)
	if err != nil {
		return "", err
	}
	if start, err := l.start(ctx, seq, r); err != nil || start == 0 {
		if err == nil {
			err = fmt.Errorf("%w: %s had no database at %v", object.ErrNotFound, obj, t.UTC())
		}
		return "", err
	}
	return encodeBookmark(obj, seq, r.at), nil
}

// CurrentBookmark returns the bookmark of the object's last record.
func (n *Node) CurrentBookmark(ctx context.Context, namespace, id string) (string, error) {
	if err := n.errNoHistory(); err != nil {
		return "", err
	}
	obj, l := n.historyObject(namespace, id)
	seq, r, err := l.last(ctx)
	if err != nil {
		return "", err
	}
	start := uint64(0)
	if seq != 0 {
		if start, err = l.start(ctx, seq, r); err != nil {
			return "", err
		}
	}
	if start == 0 {
		return "", fmt.Errorf("%w: %s has no database", object.ErrNotFound, obj)
	}
	return encodeBookmark(obj, seq, r.at), nil
}

// BuildBookmark writes to the new file dst the object's database as it was at
// bookmark, checked with integrity_check. It reads the log only: it changes nothing.
func (n *Node) BuildBookmark(ctx context.Context, namespace, id, bookmark, dst string) error {
	if err := n.errNoHistory(); err != nil {
		return err
	}
	obj, l := n.historyObject(namespace, id)
	seq, at, err := parseBookmark(obj, bookmark)
	if err != nil {
		return err
	}
	r, err := l.recordAt(ctx, seq)
	if err != nil {
		return err
	}
	if r.at != at {
		return fmt.Errorf("%w: record %d was committed at %d, the bookmark says %d", errBadBookmark, seq, r.at, at)
	}
	start, err := l.start(ctx, seq, r)
	if err != nil {
		return err
	}
	if start == 0 {
		return fmt.Errorf("%w: %s had no database at record %d", object.ErrNotFound, obj, seq)
	}
	if _, err := l.recordAt(ctx, start); err != nil {
		return fmt.Errorf("the snapshot the bookmark's state starts from: %w", err)
	}
	_, err = n.build(ctx, l, start, seq, dst)
	return err
}

// commitRestored makes the database file at o.path, which an operator's restore put
// there with the object held, the object's state in the cluster: it stores it as a
// snapshot and appends a SNAP record for it after the log's tail (fenced). After a
// failure the local file may differ from the log: the Object is broken, and the next
// activation restores the file from the log.
func (o *Object) commitRestored(ctx context.Context) error {
	if o.broken != nil {
		return o.broken
	}
	if !o.n.lease.valid(o.inc) {
		o.broken = ErrLeaseExpired
		return o.broken
	}
	f, err := os.Open(o.path)
	if err != nil {
		o.broken = err
		return err
	}
	defer f.Close()
	name := fmt.Sprintf("%s/restored-%d-%d", o.key, o.claim.Epoch, o.lastSeq)
	ref, err := o.n.putBlob(ctx, name, f)
	if err != nil {
		o.broken = fmt.Errorf("cluster: store the restored database: %w", err)
		return o.broken
	}
	at := o.now()
	seq, err := o.log.append(ctx, encodeBlob(kindSnap, o.claim.Epoch, ref, meta{at: at, base: o.base}), o.lastSeq, !o.n.keepsHistory())
	if err != nil {
		if !errors.Is(err, ErrIndeterminate) {
			o.n.deleteBlobs(name)
		}
		o.broken = err
		return err
	}
	o.cursor.reset()
	o.needBase = false
	o.lastSeq, o.lastAt, o.base, o.snap, o.batchBlobs, o.sinceSnap, o.recsSince = seq, at, seq, ref, nil, 0, 0
	return nil
}

// scan calls fn for every record of the log from sequence from (the first at or
// after it) to before sequence before, read by an ordered consumer: a batch of
// records per request, not one each. It is for purges and usage, which read the
// history, not the tail: a consumer whose server is a moment behind the stream
// leader still has every record older than the last few (a purge reads records older
// than its cutoff), and a scan that ends early misses only a blob to delete or a few
// bytes of usage. It ends at before, at the subject's last record, or after a fetch
// that brought nothing for scanWait. A consumer that JetStream stops answering (no
// responders while a stream elects its leader) is created again, from the record
// after the last one seen, up to scanAttempts times.
func (l objectLog) scan(ctx context.Context, from, before uint64, fn func(seq uint64, data []byte) error) error {
	next := max(from, 1)
	var last error
	for attempt := range scanAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return fmt.Errorf("cluster: scan %s: %w (%v)", l.subject, err, last)
		}
		done, err := l.scanOnce(ctx, &next, before, fn)
		if done || err == nil {
			return err
		}
		// JetStream did not answer (a stream electing its leader, a consumer lost with
		// its server): scan again from the record after the last one seen.
		last = err
	}
	return fmt.Errorf("cluster: scan %s: %w", l.subject, last)
}

// scanAttempts bounds the consumers a scan creates.
const scanAttempts = 20 // about 8 s of backoff in all: a stream leader's election can take that long

// scanOnce is one consumer of scan, from *next on, which it advances past every
// record fn was called for. done reports an error that must not be retried (fn's).
func (l objectLog) scanOnce(ctx context.Context, next *uint64, before uint64, fn func(seq uint64, data []byte) error) (done bool, err error) {
	if *next >= before {
		return true, nil
	}
	cons, err := l.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{l.subject},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       *next,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return false, err
	}
	for {
		batch, err := cons.Fetch(scanBatch, jetstream.FetchMaxWait(scanWait))
		if err != nil {
			return false, err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return false, err
			}
			seq := md.Sequence.Stream
			if seq >= before {
				return true, nil
			}
			if err := fn(seq, m.Data()); err != nil {
				return true, err
			}
			*next = seq + 1
			if md.NumPending == 0 {
				return true, nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) {
			return false, err
		}
		if got == 0 {
			return true, ctx.Err()
		}
	}
}

// scanBatch and scanWait shape a scan's fetches.
const (
	scanBatch = 512
	scanWait  = 2 * time.Second
)

// PurgeHistory purges the object's log before its latest snapshot committed at or
// before cutoff (the start of the state at cutoff), then the blobs the purged
// records pointed at. It returns how many records it purged. The state at cutoff and
// every later one stay restorable.
func (n *Node) PurgeHistory(ctx context.Context, namespace, id string, cutoff time.Time) (int, error) {
	return n.purgeLog(ctx, n.objectLog(objectKey(namespace, id)), cutoff.UnixNano())
}

func (n *Node) purgeLog(ctx context.Context, l objectLog, cutoff int64) (int, error) {
	tail, _, err := l.last(ctx)
	if err != nil || tail == 0 {
		return 0, err
	}
	seq, r, err := l.atOrBefore(ctx, cutoff, tail)
	if errors.Is(err, object.ErrNotFound) {
		return 0, nil // nothing that old
	}
	if err != nil {
		return 0, err
	}
	start, err := l.start(ctx, seq, r)
	if err != nil || start == 0 {
		return 0, err
	}
	var blobs []string
	count := 0
	err = l.scan(ctx, 1, start, func(s uint64, data []byte) error {
		count++
		rec, err := decodeRecord(data)
		if err == nil && (rec.kind == kindBlob || rec.kind == kindSnap) {
			blobs = append(blobs, rec.blob.name)
		}
		return nil
	})
	if err != nil || count == 0 {
		return 0, err
	}
	if err := l.stream.Purge(ctx, jetstream.WithPurgeSubject(l.subject), jetstream.WithPurgeSequence(start)); err != nil {
		return 0, fmt.Errorf("cluster: purge %s before %d: %w", l.subject, start, err)
	}
	n.deleteBlobs(blobs...)
	return count, nil
}

// HistoryUsage returns the bytes the object's history takes in the cluster (one
// replica): its log's records and the blobs they point at.
func (n *Node) HistoryUsage(ctx context.Context, namespace, id string) (int64, error) {
	l := n.objectLog(objectKey(namespace, id))
	tail, _, err := l.last(ctx)
	if err != nil || tail == 0 {
		return 0, err
	}
	var total int64
	err = l.scan(ctx, 1, tail+1, func(s uint64, data []byte) error {
		total += int64(len(data))
		if rec, err := decodeRecord(data); err == nil && (rec.kind == kindBlob || rec.kind == kindSnap) {
			total += int64(rec.blob.size)
		}
		return nil
	})
	return total, err
}

// SweepHistory purges, on every log stream, the history past HistoryRetention of the
// objects whose preferred node (among the live ones) is this node, so that each
// object is swept by one node. It returns how many records it purged.
func (n *Node) SweepHistory(ctx context.Context) (int, error) {
	if !n.keepsHistory() {
		return 0, nil
	}
	cutoff := n.now() - n.cfg.HistoryRetention.Nanoseconds()
	live := n.members.live()
	if !slices.Contains(live, n.cfg.Name) { // the cache may not show this node yet
		live = append(live, n.cfg.Name)
	}
	total := 0
	var firstErr error
	for shard, st := range n.a.logs {
		info, err := st.Info(ctx, jetstream.WithSubjectFilter(fmt.Sprintf("%s%d.*", logSubjectPre, shard)))
		if err != nil {
			firstErr = cmpErr(firstErr, err)
			continue
		}
		for subj := range info.State.Subjects {
			key := subj[len(fmt.Sprintf("%s%d.", logSubjectPre, shard)):]
			if preferredNode(key, live) != n.cfg.Name {
				continue
			}
			k, err := n.purgeLog(ctx, objectLog{js: n.js, stream: st, subject: subj}, cutoff)
			total += k
			if err != nil {
				firstErr = cmpErr(firstErr, err)
			}
		}
	}
	return total, firstErr
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// HistoryBytes returns the bytes the cluster's history takes (one replica): the log
// streams and the object store of snapshots and big batches.
func (n *Node) HistoryBytes(ctx context.Context) (int64, error) {
	var total int64
	for _, st := range n.a.logs {
		info, err := st.Info(ctx)
		if err != nil {
			return 0, err
		}
		total += int64(info.State.Bytes)
	}
	s, err := n.a.snaps.Status(ctx)
	if err != nil {
		return 0, err
	}
	return total + int64(s.Size()), nil
}
