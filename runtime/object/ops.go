package object

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"
)

// Operating a runtime (listing, deleting, backup, restore, export, the SQL console)
// is done through Runtime methods that take a namespace by name: they work on the
// namespaces this process registered and, for tools run on a stopped app's data
// directory, on any namespace folder found there (no constructor runs then).

// CloseObjectDeleted is the close code of the sockets of an object deleted by an
// operator (reason "object deleted").
const CloseObjectDeleted = 4404

// opsState is the runtime's operating state.
type opsState struct {
	catalog *catalog
	metrics objectMetrics

	mu    sync.Mutex
	cores map[string]*nsCore // namespaces an operator used without registering them
}

func (rt *Runtime) startOps() error {
	c, err := openCatalog(rt)
	if err != nil {
		return err
	}
	rt.ops = &opsState{catalog: c, cores: map[string]*nsCore{}}
	rt.ops.metrics.init(defaultMetricsObjects)
	return nil
}

func (rt *Runtime) stopOps() {
	if err := rt.ops.catalog.close(); err != nil {
		rt.cfg.Logger.Warn("object: closing the catalogue", "err", err)
	}
}

// noteCommit is called by the runner after a batch committed: the catalogue and the
// per-object metrics learn of it. It costs two map writes.
func (rt *Runtime) noteCommit(e *entity, batch []*event, out []outcome, turns int, commit time.Duration) {
	e.mu.Lock()
	id := e.id
	e.mu.Unlock()
	key := wakeKey{e.ns.name, id.raw}
	now := rt.cfg.Clock.Now()
	rt.ops.catalog.touch(key, id.name, now, e.bornBytes)
	b := batchUsage{turns: turns, commit: commit, rows: e.takeRowUsage()}
	for _, ev := range batch {
		if ev.message {
			b.received++
		}
	}
	for _, o := range out {
		if !keepsTurn(o.err) { // an application error is a turn that committed
			b.failed++
			if b.err == nil {
				b.err = o.err
			}
		}
		for _, outputs := range [2][]output{o.ctor, o.outbox} {
			for _, x := range outputs {
				b.sent += x.sockets()
			}
		}
	}
	rt.ops.metrics.record(key, id.name, now, b)
}

// noteAbort is called when a batch of n events was rolled back whole.
func (rt *Runtime) noteAbort(e *entity, n int) {
	e.mu.Lock()
	id := e.id
	e.mu.Unlock()
	b := batchUsage{turns: n, failed: n, rows: e.takeRowUsage(), err: errors.New("batch rolled back")}
	rt.ops.metrics.record(wakeKey{e.ns.name, id.raw}, id.name, rt.cfg.Clock.Now(), b)
}

// takeRowUsage returns the rows the object's code read and wrote since the last call
// (rowUsage). It asks SQLite for its count of changes only after a statement that
// may have written, so a read-only batch costs nothing more.
func (e *entity) takeRowUsage() rowUsage {
	st := e.state
	if st == nil {
		return rowUsage{}
	}
	u := rowUsage{read: st.usage.read}
	st.usage.read = 0
	if st.guard == nil || !st.guard.wrote {
		return u
	}
	st.guard.wrote = false
	s, err := st.stmt(`SELECT total_changes()`)
	var total int64
	if err == nil && s.QueryRowContext(context.Background()).Scan(&total) == nil && total >= st.usage.changesSeen {
		u.written = total - st.usage.changesSeen
		st.usage.changesSeen = total
	}
	return u
}

// core returns the registered namespace ns or, for a folder of the data directory
// that no Register claimed, an operator's stand-in (no constructor, no handlers).
func (rt *Runtime) core(ns string) (*nsCore, error) {
	if !nameRE.MatchString(ns) {
		return nil, fmt.Errorf("%w: namespace %q", ErrInvalidName, ns)
	}
	rt.mu.Lock()
	c := rt.namespaces[ns]
	closed := rt.closed
	rt.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if c != nil {
		return c, nil
	}
	rt.ops.mu.Lock()
	defer rt.ops.mu.Unlock()
	c = rt.ops.cores[ns]
	if c == nil {
		c = &nsCore{rt: rt, name: ns, keys: newIDKeys(ns), methods: map[string]rawMethod{}}
		rt.ops.cores[ns] = c
	}
	return c, nil
}

// ParseObject resolves an operator's reference to an object of namespace ns: its
// 64-hex-digit ID (checked against the namespace), or else its name.
func (rt *Runtime) ParseObject(ns, ref string) (ID, error) {
	c, err := rt.core(ns)
	if err != nil {
		return ID{}, err
	}
	if id, err := c.keys.parse(ref); err == nil {
		return id, nil
	}
	if ref == "" {
		return ID{}, fmt.Errorf("%w: empty object reference", ErrInvalidArgument)
	}
	return c.keys.fromName(ref), nil
}

// openReadOnly opens a database file read-only: SQLite itself refuses every write
// (mode=ro, and query_only), and a missing file is an error, never created.
func openReadOnly(path string) (*sql.DB, error) {
	return openRO(path, "mode=ro&_pragma=query_only(1)")
}

// openSnapshotSource opens a database file read-only for VACUUM INTO, which
// query_only would refuse (it writes the copy); mode=ro still protects the source.
func openSnapshotSource(path string) (*sql.DB, error) { return openRO(path, "mode=ro") }

// openRO opens path with the URI parameters query. It waits for a lock held by another
// connection (the object's own, or WAL recovery after a crash) instead of failing with
// SQLITE_BUSY, for as long as the runtime's own connections do.
func openRO(path, query string) (*sql.DB, error) {
	query += fmt.Sprintf("&_pragma=busy_timeout(%d)", busyTimeout.Milliseconds())
	u := url.URL{Scheme: "file", Path: path, RawQuery: query}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
