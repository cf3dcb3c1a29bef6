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
// o.lastSeq: the snapshot the log starts from, then every FRAMES and BLOB record
// after it, applied in order. The result is written under a temporary name, synced
// and checked with PRAGMA integrity_check before it replaces the file at o.path (its
// stale -wal and -shm files removed first); a failed restore replaces nothing. A log
// with no database in it (only EPOCH records) leaves no file at o.path.
func (o *Object) restore(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Dir(o.path), 0o755); err != nil {
		return err
	}
	tmp := o.path + ".restore"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	defer f.Close()
	st := objState{claim: o.claim, lastSeq: o.lastSeq}
	haveDB := false
	var lastEpoch uint64
	err = o.log.replay(ctx, o.lastSeq, func(seq uint64, data []byte) error {
		r, err := decodeRecord(data)
		if err != nil {
			return fmt.Errorf("%w: record %d: %v", ErrCorrupt, seq, err)
		}
		if r.epoch < lastEpoch {
			return fmt.Errorf("%w: record %d has epoch %d after epoch %d", ErrCorrupt, seq, r.epoch, lastEpoch)
		}
		lastEpoch = r.epoch
		switch r.kind {
		case kindSnap:
			if err := o.n.fetchBlob(ctx, r.blob, func() (io.Writer, error) {
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					return nil, err
				}
				return f, f.Truncate(0)
			}); err != nil {
				return err
			}
			st.snap, st.batchBlobs, st.sinceSnap, st.recsSince = r.blob, nil, 0, 0
			haveDB = true
		case kindFrames:
			st.sinceSnap += int64(len(data))
			st.recsSince++
			haveDB = true
			return r.pages.apply(f)
		case kindBlob:
			var buf bytes.Buffer
			if err := o.n.fetchBlob(ctx, r.blob, func() (io.Writer, error) {
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
		return fmt.Errorf("cluster: restore %s: %w", o.key, err)
	}
	if !haveDB {
		o.objState, o.needBase = st, true
		return removeDatabase(o.path)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := integrityCheck(ctx, tmp); err != nil {
		return fmt.Errorf("cluster: restore %s: %w", o.key, err)
	}
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
