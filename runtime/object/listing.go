package object

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/warrenhq/warren/runtime/internal/durable"
)

// ObjectInfo describes one object as a listing shows it.
type ObjectInfo struct {
	Namespace  string    `json:"namespace"`
	ID         string    `json:"id"`
	Name       string    `json:"name,omitempty"` // empty when the object was never addressed by name
	Size       int64     `json:"size"`           // bytes of its database and WAL
	LastActive time.Time `json:"last_active"`    // its last commit (or the file's mtime, after a scan)
	Open       bool      `json:"open"`           // in memory now (false: evicted, costs only its file)
	Sockets    int       `json:"sockets"`        // WebSockets connected now
}

// Sort orders of ListObjects.
const (
	SortByName     = "name"     // name, then ID (objects without a name first)
	SortBySize     = "size"     // largest first
	SortByActivity = "activity" // most recently active first
)

// ObjectListOptions selects a page of a namespace's objects.
type ObjectListOptions struct {
	Prefix string // only objects whose name starts with Prefix
	Sort   string // SortByName (default), SortBySize or SortByActivity
	Limit  int    // objects per page: default 100, at most MaxListLimit
	Cursor string // ObjectList.Next of the previous page; "" for the first page
}

// MaxListLimit bounds one page of ListObjects.
const MaxListLimit = 1000

// ObjectList is one page of a listing.
type ObjectList struct {
	Objects []ObjectInfo `json:"objects"`
	Next    string       `json:"next,omitempty"` // cursor of the next page; "" on the last page
}

// Namespaces returns the namespaces registered in this process and those with a
// folder in the data directory, sorted.
func (rt *Runtime) Namespaces() ([]string, error) {
	dirs, err := scanNamespaceDirs(rt.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, d := range dirs {
		set[d] = true
	}
	rt.mu.Lock()
	for n := range rt.namespaces {
		set[n] = true
	}
	rt.mu.Unlock()
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// ListObjects returns one page of namespace ns's objects from the catalogue, without
// opening their databases. Objects committed up to the call are included.
func (rt *Runtime) ListObjects(ctx context.Context, ns string, opts ObjectListOptions) (ObjectList, error) {
	c, err := rt.core(ns)
	if err != nil {
		return ObjectList{}, err
	}
	cat := rt.ops.catalog
	select {
	case <-cat.ready:
	case <-ctx.Done():
		return ObjectList{}, ctx.Err()
	}
	if err := cat.flush(); err != nil {
		return ObjectList{}, fmt.Errorf("object: catalogue: %w", err)
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxListLimit)
	where := []string{"ns = ?"}
	args := []any{ns}
	if opts.Prefix != "" {
		where, args = append(where, "name >= ?"), append(args, opts.Prefix)
		if end, ok := prefixEnd(opts.Prefix); ok {
			where, args = append(where, "name < ?"), append(args, end)
		}
	}
	var order, col string
	switch opts.Sort {
	case "", SortByName:
		order, col = "name, id", "name"
	case SortBySize:
		order, col = "size DESC, id", "size"
	case SortByActivity:
		order, col = "active DESC, id", "active"
	default:
		return ObjectList{}, fmt.Errorf("%w: sort %q (want name, size or activity)", ErrInvalidArgument, opts.Sort)
	}
	if opts.Cursor != "" {
		val, id, err := parseCursor(opts.Cursor, col)
		if err != nil {
			return ObjectList{}, err
		}
		cmp := ">"
		if col != "name" {
			cmp = "<"
		}
		where = append(where, "("+col+" "+cmp+" ? OR ("+col+" = ? AND id > ?))")
		args = append(args, val, val, id)
	}
	q := "SELECT id, name, size, active FROM objects WHERE " + strings.Join(where, " AND ") + " ORDER BY " + order + " LIMIT ?"
	args = append(args, limit+1)
	rows, err := cat.db.QueryContext(ctx, q, args...)
	if err != nil {
		return ObjectList{}, fmt.Errorf("object: catalogue: %w", err)
	}
	defer rows.Close()
	var list ObjectList
	list.Objects = []ObjectInfo{}
	var keys []objectKey
	for rows.Next() {
		var id []byte
		var o ObjectInfo
		var active int64
		if err := rows.Scan(&id, &o.Name, &o.Size, &active); err != nil {
			return ObjectList{}, fmt.Errorf("object: catalogue: %w", err)
		}
		if len(list.Objects) == limit {
			last := list.Objects[limit-1]
			list.Next = makeCursor(col, last)
			break
		}
		o.Namespace, o.ID, o.LastActive = ns, hex.EncodeToString(id), time.Unix(0, active).UTC()
		var raw [32]byte
		copy(raw[:], id)
		keys = append(keys, objectKey{c, raw})
		list.Objects = append(list.Objects, o)
	}
	if err := rows.Err(); err != nil {
		return ObjectList{}, fmt.Errorf("object: catalogue: %w", err)
	}
	rt.fillLive(list.Objects, keys)
	return list, nil
}

// fillLive sets Open and Sockets of listed objects from the runtime's memory.
func (rt *Runtime) fillLive(objs []ObjectInfo, keys []objectKey) {
	rt.mu.Lock()
	for i, k := range keys {
		objs[i].Open = rt.objects[k] != nil
	}
	rt.mu.Unlock()
	r := rt.sockets()
	r.mu.Lock()
	for i, k := range keys {
		if s := r.sets[k]; s != nil {
			objs[i].Sockets = len(s.socks)
		}
	}
	r.mu.Unlock()
}

// socketCount is the number of sockets of an object, by namespace and hex ID.
func (rt *Runtime) socketCount(ns, idHex string) int {
	rt.mu.Lock()
	c := rt.namespaces[ns]
	rt.mu.Unlock()
	var raw [32]byte
	if c == nil || len(idHex) != 64 {
		return 0
	}
	hex.Decode(raw[:], []byte(idHex))
	r := rt.sockets()
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.sets[objectKey{c, raw}]; s != nil {
		return len(s.socks)
	}
	return 0
}

// A cursor is "<column>.<value>.<id hex>"; a name value is hex-encoded.
func makeCursor(col string, o ObjectInfo) string {
	var v string
	switch col {
	case "name":
		v = hex.EncodeToString([]byte(o.Name))
	case "size":
		v = strconv.FormatInt(o.Size, 10)
	default:
		v = strconv.FormatInt(o.LastActive.UnixNano(), 10)
	}
	return col + "." + v + "." + o.ID
}

func parseCursor(s, col string) (val any, id []byte, err error) {
	bad := fmt.Errorf("%w: cursor %q does not belong to this listing", ErrInvalidArgument, truncate(s, 80))
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] != col || len(parts[2]) != 64 {
		return nil, nil, bad
	}
	id, err = hex.DecodeString(parts[2])
	if err != nil {
		return nil, nil, bad
	}
	if col == "name" {
		b, err := hex.DecodeString(parts[1])
		if err != nil {
			return nil, nil, bad
		}
		return string(b), id, nil
	}
	n, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return nil, nil, bad
	}
	return n, id, nil
}

// Object describes one object: from the catalogue when it lists it, else from its
// file. It fails with ErrNotFound when the object has no database.
func (rt *Runtime) Object(ctx context.Context, ns string, id ID) (ObjectInfo, error) {
	c, err := rt.core(ns)
	if err != nil {
		return ObjectInfo{}, err
	}
	path := rt.dbPath(ns, id)
	size, ok := objectFileSize(path)
	if !ok {
		return ObjectInfo{}, fmt.Errorf("%w: object %s/%s has no database", ErrNotFound, ns, id)
	}
	o := ObjectInfo{Namespace: ns, ID: id.String(), Size: size}
	if name, has := id.Name(); has {
		o.Name = name
	}
	if err := rt.ops.catalog.flush(); err != nil {
		return ObjectInfo{}, fmt.Errorf("object: catalogue: %w", err)
	}
	var name string
	var active int64
	err = rt.ops.catalog.db.QueryRowContext(ctx, `SELECT name, active FROM objects WHERE ns = ? AND id = ?`, ns, id.raw[:]).Scan(&name, &active)
	switch {
	case err == nil:
		o.LastActive = time.Unix(0, active).UTC()
		if o.Name == "" {
			o.Name = name
		}
	default:
		if fi, serr := os.Stat(path); serr == nil {
			o.LastActive = fi.ModTime().UTC()
		}
		if o.Name == "" {
			o.Name, _ = readStoredName(path)
		}
	}
	objs := []ObjectInfo{o}
	rt.fillLive(objs, []objectKey{{c, id.raw}})
	return objs[0], nil
}

// DeleteObject deletes an object for good: its sockets are closed with
// CloseObjectDeleted (4404, "object deleted") and get no OnClose, events queued for it
// meanwhile fail with ErrNotFound, and its database (with its WAL), its alarms and
// schedules, its wake entry, catalogue row and metrics are removed. An event that
// arrives later starts a new, empty object. Deleting an object that has no database
// fails with ErrNotFound.
func (rt *Runtime) DeleteObject(ctx context.Context, ns string, id ID) error {
	if err := rt.notInCluster("DeleteObject"); err != nil {
		return err
	}
	c, err := rt.core(ns)
	if err != nil {
		return err
	}
	path := rt.dbPath(ns, id)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: object %s/%s has no database", ErrNotFound, ns, id)
	}
	h, release, err := rt.hold(ctx, c, id)
	if err != nil {
		return err
	}
	defer release()
	h.failQueued = fmt.Errorf("%w: object %s/%s %w", ErrNotFound, ns, id, errDeleted)
	rt.closeObjectSockets(ctx, c, id, CloseObjectDeleted, "object deleted")
	key := wakeKey{ns, id.raw}
	if err := removeObjectFiles(path); err != nil {
		return fmt.Errorf("object: delete %s/%s: %w", ns, id, err)
	}
	if h := rt.cfg.History; h != nil {
		if err := h.Replaced(ns, id, path); err != nil {
			return fmt.Errorf("object: delete %s/%s: history: %w", ns, id, err)
		}
	}
	rt.wake.settle(key, time.Time{}, false)
	rt.ops.metrics.forget(key)
	if err := rt.ops.catalog.forget(key); err != nil {
		return fmt.Errorf("object: delete %s/%s: catalogue: %w", ns, id, err)
	}
	return nil
}

// errDeleted marks the failure of the events that were queued for an object when an
// operator deleted it: they are not retried (a retry would create the object again).
var errDeleted = errors.New("was deleted")

// removeObjectFiles removes a database with its WAL, shared memory and journal, and
// makes the removal durable.
func removeObjectFiles(path string) error {
	for _, suffix := range []string{"-wal", "-shm", "-journal", ""} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return durable.SyncDir(filepath.Dir(path))
}

// closeObjectSockets closes an object's sockets with code and reason while the
// object is held, so that none of them gets an OnClose (accepted is runner-owned: the
// runner is parked in the hold), and waits (bounded by ctx and 2 s) until their
// connections are gone.
func (rt *Runtime) closeObjectSockets(ctx context.Context, c *nsCore, id ID, code int, reason string) {
	r := rt.sockets()
	key := objectKey{c, id.raw}
	r.mu.Lock()
	var socks []*WebSocket
	if s := r.sets[key]; s != nil {
		socks = append(socks, s.socks...)
	}
	r.mu.Unlock()
	for _, ws := range socks {
		ws.accepted = false
		ws.dropped.Store(true)
		ws.mu.Lock()
		ws.closeLocked(code, reason)
		ws.mu.Unlock()
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(socks) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		r.mu.Lock()
		s := r.sets[key]
		left := s != nil && len(s.socks) > 0
		r.mu.Unlock()
		if !left {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
