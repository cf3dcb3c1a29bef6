package cluster

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrImportConflict means the cluster already holds a database for an object being
// imported, and it differs from the file being imported.
var ErrImportConflict = errors.New("cluster: the cluster holds another version of the object")

// Import puts the SQLite database src (a single-node object's file; its -wal, if
// any, is folded in first) into the cluster as the object namespace/id, and reports
// whether it did. Guarantees:
//
//   - It claims the object (an *OwnedError names the owner when another live node
//     has it) and fences its log like any activation.
//   - When the log holds no database yet, the file becomes the log's first snapshot;
//     otherwise nothing is written, and Import returns false with nil when the
//     cluster's database equals the file byte for byte (an earlier import of it: an
//     interrupted import can be run again), ErrImportConflict when it differs.
//   - Either way it then restores the object from the log into a file of its own
//     and checks it (PRAGMA integrity_check, and equal to the imported file byte for
//     byte), and records the object's earliest alarm where every node sees it (so
//     the alarm fires on whichever node owns the object), before it returns nil.
//
// src is not modified: work, a directory on the same machine, holds the copies,
// removed before Import returns. The object must not be open on this node.
func (n *Node) Import(ctx context.Context, namespace, id, src, work string) (imported bool, err error) {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return false, err
	}
	key := objectKey(namespace, id)
	prepared := filepath.Join(work, key+".import")
	defer removeDatabase(prepared)
	if err := prepareImport(ctx, src, prepared); err != nil {
		return false, fmt.Errorf("cluster: import %s/%s: %w", namespace, id, err)
	}
	path := filepath.Join(work, key+".sqlite")
	defer removeDatabase(path)
	o, err := n.Open(ctx, namespace, id, path)
	if err != nil {
		return false, err
	}
	if o.needBase {
		err = o.importBase(ctx, prepared)
		imported = err == nil
	}
	o.Close()
	if err != nil {
		return false, err
	}
	// Check what a new owner would restore, from the log alone.
	n.mu.Lock()
	delete(n.warm, key)
	n.mu.Unlock()
	check := filepath.Join(work, key+".check")
	defer removeDatabase(check)
	o, err = n.Open(ctx, namespace, id, check)
	if err != nil {
		return imported, err
	}
	o.Close()
	same, err := sameFile(check, prepared)
	switch {
	case err != nil:
		return imported, err
	case !same && imported:
		return imported, fmt.Errorf("%w: %s/%s restored differs from the imported file", ErrCorrupt, namespace, id)
	case !same:
		return false, fmt.Errorf("%w: %s/%s", ErrImportConflict, namespace, id)
	}
	return imported, n.importAlarm(ctx, namespace, id, prepared)
}

// importAlarm records an imported object's earliest alarm in the alarms bucket (see
// alarms.go), so that a live node wakes it when due. Writing it again (a resumed
// import) is harmless: an entry may be early, never late.
func (n *Node) importAlarm(ctx context.Context, namespace, id, path string) error {
	db, conn, err := openSide(ctx, path)
	if err != nil {
		return err
	}
	var due sql.NullInt64
	err = conn.QueryRowContext(ctx, `SELECT MIN(due) FROM _warren_alarms`).Scan(&due)
	conn.Close()
	db.Close()
	if err != nil && strings.Contains(err.Error(), "no such table") || err == nil && !due.Valid {
		return nil // no alarms
	}
	if err != nil {
		return err
	}
	b, err := json.Marshal(alarmEntry{Namespace: namespace, ID: id, Due: due.Int64})
	if err != nil {
		return err
	}
	_, err = n.a.alarms.Put(ctx, objectKey(namespace, id), b)
	return err
}

// importBase makes the prepared file the object's database and the log's first
// snapshot (fenced, as every append).
func (o *Object) importBase(ctx context.Context, prepared string) error {
	if err := copyFile(prepared, o.path); err != nil {
		return err
	}
	o.needBase = false
	o.cursor.reset()
	if err := o.Snapshot(ctx); err != nil {
		o.broken = err
		return err
	}
	if o.snap.name == "" {
		o.broken = errors.New("cluster: import: the database could not be checkpointed")
		return o.broken
	}
	return nil
}

// prepareImport copies src (and its -wal) to dst, checks it, switches it to WAL mode
// and checkpoints it, so that dst is one self-contained file as the cluster's
// snapshots are.
func prepareImport(ctx context.Context, src, dst string) error {
	removeDatabase(dst)
	if err := copyFile(src, dst); err != nil {
		return err
	}
	if err := copyFile(src+"-wal", dst+"-wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := integrityCheck(ctx, dst); err != nil {
		return err
	}
	db, conn, err := openSide(ctx, dst)
	if err != nil {
		return err
	}
	var mode string
	err = conn.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
	conn.Close()
	db.Close()
	if err != nil {
		return err
	}
	done, err := checkpointTruncate(ctx, dst)
	if err == nil && !done {
		err = errors.New("checkpoint busy")
	}
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// sameFile reports whether two files hold the same bytes.
func sameFile(a, b string) (bool, error) {
	x, err := os.ReadFile(a)
	if err != nil {
		return false, err
	}
	y, err := os.ReadFile(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(x, y), nil
}
