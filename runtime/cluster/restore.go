package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/warrenhq/warren/runtime/internal/durable"
)

// restore rebuilds the object's database file from its log, up to the record at
// o.lastSeq: the latest snapshot before it (or the first commit's whole image: the
// record o.base names), then every FRAMES and BLOB record after it, applied in
// order; the records before that base (the history kept, history.go) are not read.
// The result is written under a temporary name, synced and checked with PRAGMA
// integrity_check before it replaces the file at o.path (its stale -wal and -shm
// files removed first); a failed restore replaces nothing. A log with no database in
// it (only EPOCH records) leaves no file at o.path.
func (o *Object) restore(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Dir(o.path), 0o755); err != nil {
		return err
	}
	st := objState{claim: o.claim, lastSeq: o.lastSeq, lastAt: o.lastAt, base: o.base}
	if o.base == 0 {
		o.objState, o.needBase = st, true
		return removeDatabase(o.path)
	}
	tmp := o.path + ".restore"
	defer os.Remove(tmp)
	b, err := o.n.build(ctx, o.log, o.base, o.lastSeq, tmp)
	if err != nil {
		return fmt.Errorf("cluster: restore %s: %w", o.key, err)
	}
	st.snap, st.batchBlobs, st.sinceSnap, st.recsSince = b.snap, b.batchBlobs, b.sinceSnap, b.recsSince
	if err := removeDatabase(o.path); err != nil {
		return err
	}
	if err := os.Rename(tmp, o.path); err != nil {
		return err
	}
	if err := durable.SyncDir(filepath.Dir(o.path)); err != nil {
		return err
	}
	o.objState = st
	return nil
}

// built is what build read of a log.
type built struct {
	snap       blobRef
	batchBlobs []string
	sinceSnap  int64
	recsSince  int
}

// build writes to a new file at path the database as it is after the log's record
// at upto, from the record at from (where a restore of that state starts, not 0):
// the whole database there, then every FRAMES and BLOB record after it, applied in
// order. The file is synced and checked with PRAGMA integrity_check. A record that
// is missing (purged), malformed or out of order fails with ErrCorrupt or an error
// naming it.
func (n *Node) build(ctx context.Context, log objectLog, from, upto uint64, path string) (built, error) {
	var st built
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return st, err
	}
	defer f.Close()
	haveDB := false
	var lastEpoch uint64
	err = log.replay(ctx, from, upto, func(seq uint64, data []byte) error {
		n.replayed.Add(1)
		r, err := decodeRecord(data)
		if err != nil {
			return fmt.Errorf("%w: record %d: %v", ErrCorrupt, seq, err)
		}
		if r.epoch < lastEpoch {
			return fmt.Errorf("%w: record %d has epoch %d after epoch %d", ErrCorrupt, seq, r.epoch, lastEpoch)
		}
		lastEpoch = r.epoch
		if !haveDB && seq == from && r.kind == kindEpoch {
			return fmt.Errorf("%w: record %d, where the database should start, is an EPOCH record", ErrCorrupt, seq)
		}
		if !haveDB && r.kind != kindEpoch && seq != from {
			return fmt.Errorf("%w: record %d, where the database should start, is missing", ErrCorrupt, from)
		}
		switch r.kind {
		case kindSnap:
			if err := n.fetchBlob(ctx, r.blob, func() (io.Writer, error) {
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					return nil, err
				}
				return f, f.Truncate(0)
			}); err != nil {
				return err
			}
			st = built{snap: r.blob}
			haveDB = true
		case kindFrames:
			st.sinceSnap += int64(len(data))
			st.recsSince++
			haveDB = true
			return r.pages.apply(f)
		case kindBlob:
			var buf bytes.Buffer
			if err := n.fetchBlob(ctx, r.blob, func() (io.Writer, error) {
				buf.Reset()
				return &buf, nil
			}); err != nil {
				return err
			}
			inner, err := decodeRecord(buf.Bytes())
			if err != nil || inner.kind != kindFrames {
				return fmt.Errorf("%w: blob %s does not hold a FRAMES record (%v)", ErrCorrupt, r.blob.name, err)
			}
			st.batchBlobs = append(st.batchBlobs, r.blob.name)
			st.sinceSnap += int64(buf.Len())
			st.recsSince++
			haveDB = true
			return inner.pages.apply(f)
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	if !haveDB {
		return st, fmt.Errorf("%w: no database in records %d to %d", ErrCorrupt, from, upto)
	}
	if err := f.Sync(); err != nil {
		return st, err
	}
	if err := integrityCheck(ctx, path); err != nil {
		return st, err
	}
	return st, nil
}

// removeDatabase deletes a database file and its -wal and -shm files. The log goes
// first: a stale log beside a new file would be applied to it.
func removeDatabase(path string) error {
	for _, suffix := range []string{"-wal", "-shm", ""} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
