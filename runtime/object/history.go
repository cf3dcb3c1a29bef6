package object

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// History keeps every object's committed states for point-in-time recovery, as
// Durable Objects' bookmarks do; package history implements it. Config.History nil
// (the default): no history is kept. With a History, the runtime checkpoints an
// object's log only through it (wal_autocheckpoint is 0 on the object's connection),
// so that every commit is archived before it leaves the log. Not in cluster mode,
// where the object's fenced log is its history: there a Cluster that implements
// History (package cluster's does) serves the same calls, and its Open is never
// called.
type History interface {
	// Open is called once an object's database opened, before its first turn, with
	// the connection idle; checkpoint checkpoints its log (RESTART) on that
	// connection and reports whether it completed. An error leaves the activation
	// without history (it is logged; SQLite checkpoints as usual).
	Open(namespace string, id ID, path string, checkpoint func() (bool, error)) (ObjectHistory, error)
	// BookmarkForTime returns the bookmark of the object's state at t (its last
	// commit at or before t); CurrentBookmark that of its last commit.
	BookmarkForTime(namespace string, id ID, path string, t time.Time) (string, error)
	CurrentBookmark(namespace string, id ID, path string) (string, error)
	// Prepare writes into the new file dst the object's database as it was at
	// bookmark, and returns the bookmark of its current state. The object is held.
	Prepare(namespace string, id ID, path, bookmark, dst string) (undo string, err error)
	// Replaced is called when the object's database at path was replaced (a restore)
	// or removed (no file at path), with the object held.
	Replaced(namespace string, id ID, path string) error
	// Usage returns the bytes the object's history takes on disk.
	Usage(namespace string, id ID) (int64, error)
}

// ObjectHistory records one activation of an object: the runner calls Committed
// after each commit of a batch that may have written (not after one that only
// read: it committed nothing), Idle after a batch's outputs were released (the time to archive
// and checkpoint), Close before the database closes. Each reports its own failures
// (a commit stays committed).
type ObjectHistory interface {
	Committed(at time.Time)
	Idle()
	Close()
}

// CloseObjectRestored is the close code of an object's sockets when it is restored
// to a bookmark: its state went back, the client should reconnect and read it anew.
const CloseObjectRestored = 4409

// openHistory starts the history of an activation on conn, the connection that
// writes the object's database at path (nil without a History).
func (rt *Runtime) openHistory(ctx context.Context, ns string, id ID, path string, conn *sql.Conn) ObjectHistory {
	h := rt.cfg.History
	if h == nil || rt.cfg.Cluster != nil {
		return nil
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA wal_autocheckpoint=0"); err != nil {
		rt.cfg.Logger.Error("object: history: no archive for this activation", "object", ns+"/"+id.String(), "err", err)
		return nil
	}
	checkpoint := func() (bool, error) {
		var busy, logFrames, done int
		err := conn.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &logFrames, &done)
		return err == nil && busy == 0, err
	}
	oh, err := h.Open(ns, id, path, checkpoint)
	if err != nil {
		rt.cfg.Logger.Error("object: history: no archive for this activation", "object", ns+"/"+id.String(), "err", err)
		conn.ExecContext(ctx, "PRAGMA wal_autocheckpoint=1000") // SQLite's default
		return nil
	}
	return oh
}

// history returns the runtime's History (in cluster mode, the Cluster's), or an
// error saying there is none.
func (rt *Runtime) history() (History, error) {
	if rt.cfg.Cluster != nil {
		if h, ok := rt.cfg.Cluster.(History); ok {
			return h, nil
		}
		return nil, fmt.Errorf("%w: point-in-time recovery is off (the cluster keeps no history)", ErrInvalidArgument)
	}
	if rt.cfg.History == nil {
		return nil, fmt.Errorf("%w: point-in-time recovery is off (no history is kept)", ErrInvalidArgument)
	}
	return rt.cfg.History, nil
}

// RestoreElsewhere is what a Cluster that keeps history implements so that an
// operator's restore of an object another node serves runs on that node (which
// holds the object, closes its sockets and commits the restored state): it sends
// RestoreBookmark there and returns its undo bookmark.
type RestoreElsewhere interface {
	RestoreBookmarkOn(ctx context.Context, to *ElsewhereError, namespace string, id ID, bookmark string) (string, error)
}

// historyObject checks an operator's reference to an object with history.
func (rt *Runtime) historyObject(ns string, id ID) (History, *nsCore, string, error) {
	h, err := rt.history()
	if err != nil {
		return nil, nil, "", err
	}
	c, err := rt.core(ns)
	if err != nil {
		return nil, nil, "", err
	}
	return h, c, rt.dbPath(ns, id), nil
}

// BookmarkForTime returns the bookmark of object id's state at t: after its last
// commit at or before t (Durable Objects' getBookmarkForTime). A t before the
// history kept fails with ErrNotFound.
func (rt *Runtime) BookmarkForTime(ctx context.Context, ns string, id ID, t time.Time) (string, error) {
	h, _, path, err := rt.historyObject(ns, id)
	if err != nil {
		return "", err
	}
	return h.BookmarkForTime(ns, id, path, t)
}

// CurrentBookmark returns the bookmark of object id's last commit (Durable Objects'
// getCurrentBookmark).
func (rt *Runtime) CurrentBookmark(ctx context.Context, ns string, id ID) (string, error) {
	h, _, path, err := rt.historyObject(ns, id)
	if err != nil {
		return "", err
	}
	return h.CurrentBookmark(ns, id, path)
}

// HistoryUsage returns the bytes object id's history takes on disk.
func (rt *Runtime) HistoryUsage(ns string, id ID) (int64, error) {
	h, _, _, err := rt.historyObject(ns, id)
	if err != nil {
		return 0, err
	}
	return h.Usage(ns, id)
}

// RestoreBookmark restores object id to its state at bookmark (Durable Objects'
// onNextSessionRestoreBookmark) and returns the bookmark of the state it replaced,
// which undoes it. The object is held: the batch running finishes, the instance is
// dropped, its sockets are closed with CloseObjectRestored; the restored database
// is checked (integrity_check) before it replaces the object's; the next event
// starts the object on it. A bookmark that is malformed, of another object, or
// outside the history fails with ErrInvalidArgument or ErrNotFound, changing nothing.
func (rt *Runtime) RestoreBookmark(ctx context.Context, ns string, id ID, bookmark string) (string, error) {
	h, c, dst, err := rt.historyObject(ns, id)
	if err != nil {
		return "", err
	}
	if cl := rt.cfg.Cluster; cl != nil {
		if !cl.Exists(ns, id) {
			return "", fmt.Errorf("%w: object %s/%s has no database", ErrNotFound, ns, id)
		}
	} else if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: object %s/%s has no database", ErrNotFound, ns, id)
	}
	_, release, err := rt.hold(ctx, c, id)
	var elsewhere *ElsewhereError
	if re, ok := rt.cfg.Cluster.(RestoreElsewhere); ok && errors.As(err, &elsewhere) {
		return re.RestoreBookmarkOn(ctx, elsewhere, ns, id, bookmark)
	}
	if err != nil {
		return "", err
	}
	defer release()
	tmp := filepath.Join(filepath.Dir(dst), fmt.Sprintf(".new-restore-%s.sqlite", id))
	os.Remove(tmp)
	defer os.Remove(tmp)
	undo, err := h.Prepare(ns, id, dst, bookmark, tmp)
	if err != nil {
		return "", fmt.Errorf("object: restore %s/%s to a bookmark: %w", ns, id, err)
	}
	if err := checkDatabaseFile(c, id, tmp); err != nil {
		return "", err
	}
	rt.closeObjectSockets(ctx, c, id, CloseObjectRestored, "object restored to a bookmark")
	if err := rt.replaceObjectFile(ns, id, tmp); err != nil {
		return "", err
	}
	if err := h.Replaced(ns, id, dst); err != nil {
		return "", fmt.Errorf("object: restore %s/%s: history: %w", ns, id, err)
	}
	return undo, nil
}
