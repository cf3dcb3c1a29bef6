package object

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/warrenhq/warren/runtime/internal/durable"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// reservedPrefix names the runtime's own tables; user SQL cannot touch them.
const reservedPrefix = "_warren_"

// schema is created in every object's database when it opens.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS _warren_kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS _warren_meta (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID`,
	// The alarm table and its index (alarmSchema) are created by the first alarm or
	// schedule; files of objects made before have them.
}

// storageError is the sentinel for a storage failure: ErrCorrupt when SQLite says the
// file is damaged, ErrRetryable otherwise (a full disk, a read-only directory, a
// commit that did not become durable).
func storageError(err error) error {
	if isCorrupt(err) {
		return ErrCorrupt
	}
	return ErrRetryable
}

// commitError is the sentinel for a failed commit: ErrIndeterminate when the
// Committer could not tell whether it became durable, ErrRetryable when it says the
// call had no effect, else as storageError.
func commitError(err error) error {
	switch {
	case errors.Is(err, ErrIndeterminate):
		return ErrIndeterminate
	case errors.Is(err, ErrRetryable):
		return ErrRetryable
	}
	return storageError(err)
}

// isDiskFull reports whether err carries SQLite's SQLITE_FULL, or the I/O error it
// returns when the log's index (-shm) cannot grow on a full disk.
func isDiskFull(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code()&0xff == sqlite3.SQLITE_FULL || se.Code() == sqlite3.SQLITE_IOERR_SHMSIZE
}

// isCorrupt reports whether err carries SQLite's SQLITE_CORRUPT or SQLITE_NOTADB
// result code (or an extended code of either: its low byte).
func isCorrupt(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code() & 0xff
	return c == sqlite3.SQLITE_CORRUPT || c == sqlite3.SQLITE_NOTADB
}

// ensureOpen opens the object's database and prepares its State, once per activation,
// for a batch whose calls hint region (LocationHint; "" for none). The entity holds a
// database slot (takeSlot); if opening fails, the slot is given back.
func (e *entity) ensureOpen(hint string) error {
	if e.db != nil {
		if e.memory == memPersisted {
			e.moveToFile()
		}
		return nil
	}
	ctx := context.Background()
	release, err := e.rt.cfg.Placement.Acquire(e.ns.placementContext(e.rt.seamCtx, hint), e.ns.name, e.id)
	if err != nil {
		e.rt.releaseSlot(e)
		return fmt.Errorf("object: placement: %w", err)
	}
	path := e.rt.dbPath(e.ns.name, e.id)
	var (
		db   *sql.DB
		conn *sql.Conn
		g    *sqlGuard
	)
	img, phase := e.inMemoryStart(path)
	e.memory = phase
	if phase != onFile {
		db, conn, g, err = e.rt.openInMemory(ctx, img)
		if phase == memCopy {
			e.persistedCounter = binary.BigEndian.Uint32(img[24:28])
			putImage(img)
		}
	} else {
		db, conn, g, err = openDB(ctx, path, e.rt.cfg.Synchronous, e.rt.template)
	}
	if err != nil {
		release()
		e.rt.releaseSlot(e)
		return fmt.Errorf("%w: open %s/%s: %v", storageError(err), e.ns.name, e.id, err)
	}
	if e.rt.cfg.Cluster != nil {
		// Only the cluster checkpoints (when it snapshots): a committed frame must not
		// leave the log before it was shipped.
		if _, err := conn.ExecContext(ctx, "PRAGMA wal_autocheckpoint=0"); err != nil {
			conn.Close()
			db.Close()
			release()
			e.rt.releaseSlot(e)
			return fmt.Errorf("%w: open %s/%s: %v", storageError(err), e.ns.name, e.id, err)
		}
	}
	e.hist = e.rt.openHistory(ctx, e.ns.name, e.id, path, conn)
	e.db, e.conn, e.release = db, conn, release
	if e.state == nil {
		e.state = &State{e: e}
	} // else an instance kept while its database was closed (closeDB) keeps its State
	e.attachState(conn, g)
	if err := e.loadName(ctx); err != nil {
		e.closeDB(false)
		return fmt.Errorf("%w: open %s/%s: %v", storageError(err), e.ns.name, e.id, err)
	}
	return nil
}

// attachState points the object's State at a newly opened connection.
func (e *entity) attachState(conn *sql.Conn, g *sqlGuard) {
	e.state.conn, e.state.guard = conn, g
	e.state.alarm.exact = false                // read the alarms again: a restore, or a batch rolled back (abort closes the database)
	e.state.usage.changesSeen = g.startChanges // a connection's count goes on from when it was opened
}

// loadName records the object's name on first use by name, and recalls it when the
// object is activated by ID alone (an alarm, a unique-ID stub of a named object).
// A name not yet stored is written by the next batch, inside its transaction (no
// commit of its own).
func (e *entity) loadName(ctx context.Context) error {
	var stored []byte
	if e.memory != memNew { // a copy of the template stores no name
		err := e.conn.QueryRowContext(ctx, `SELECT value FROM _warren_meta WHERE key = 'name'`).Scan(&stored)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
	}
	if _, ok := e.id.Name(); ok {
		if stored == nil {
			e.unstoredName = true
		}
		return nil
	}
	if stored != nil {
		e.mu.Lock()
		e.id.name, e.id.has = string(stored), true
		e.mu.Unlock()
	}
	return nil
}

// storeName writes a name loadName found missing; runBatch calls it inside its
// transaction and clears unstoredName once that commits.
func (e *entity) storeName(ctx context.Context) error {
	name, _ := e.id.Name()
	e.state.guard.wrote = true
	_, err := e.conn.ExecContext(ctx, `INSERT OR IGNORE INTO _warren_meta (key, value) VALUES ('name', ?)`, []byte(name))
	return err
}

// busyTimeout is how long a statement waits for a lock another connection holds.
const busyTimeout = 5 * time.Second

func openDB(ctx context.Context, path, synchronous string, template []byte) (*sql.DB, *sql.Conn, *sqlGuard, error) {
	if strings.ContainsRune(path, '?') {
		return nil, nil, nil, fmt.Errorf("data directory path must not contain '?'")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, nil, err
	}
	created := false
	if template != nil {
		var err error
		if created, err = createFromTemplate(path, template); err != nil {
			return nil, nil, nil, err
		}
	}
	db, conn, err := openConn(ctx, path)
	if err != nil {
		return nil, nil, nil, err
	}
	pragmas := []string{
		// Another connection to the file (a tool, an abandoned turn's, being closed)
		// may hold a lock for a moment: wait for it rather than fail with SQLITE_BUSY.
		fmt.Sprintf("PRAGMA busy_timeout=%d", busyTimeout.Milliseconds()),
		"PRAGMA journal_mode=WAL",
		"PRAGMA synchronous=" + synchronous,
		"PRAGMA foreign_keys=ON",
		"PRAGMA trusted_schema=OFF",
	}
	// The schema goes in one transaction: one fsync for a new object, none for an old one.
	// A copy of the template has it already (parsing it was a tenth of a new object's
	// open).
	stmts := pragmas
	if !created {
		stmts = append(append(append(pragmas, "BEGIN"), schema...), "COMMIT")
	}
	g, err := prepareConn(ctx, db, conn, stmts)
	if err != nil {
		return nil, nil, nil, err
	}
	return db, conn, g, nil
}

// openConn opens dsn as a database/sql handle of exactly one connection, and that
// connection: an object's statements all run on it, in its runner's order.
func openConn(ctx context.Context, dsn string) (*sql.DB, *sql.Conn, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, conn, nil
}

// prepareConn runs stmts (pragmas, the schema) on a connection openConn opened and
// installs the sqlGuard; on an error it closes the connection and its handle.
func prepareConn(ctx context.Context, db *sql.DB, conn *sql.Conn, stmts []string) (*sqlGuard, error) {
	g := &sqlGuard{}
	err := func() error {
		for _, q := range stmts {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return conn.Raw(g.install)
	}()
	if err != nil {
		conn.Close()
		db.Close()
		return nil, err
	}
	return g, nil
}

// closeDB closes the object's database, releases its placement and then its slot. It
// drops the instance unless keepInstance (a pinned object evicted for its slot: the
// instance and its State live on, and the database reopens for its next turn).
func (e *entity) closeDB(keepInstance bool) {
	if e.db == nil {
		return
	}
	if !keepInstance {
		e.reset()
	}
	if e.state != nil {
		e.state.closeStmts()
	}
	if e.hist != nil {
		e.hist.Close() // archives what the log holds: closing would checkpoint it
		e.hist = nil
	}
	e.dropConn()
	e.release()
	e.db, e.conn, e.release = nil, nil, nil
	if !keepInstance {
		e.state = nil
	}
	e.rt.releaseSlot(e)
}

// dropConn closes the object's connection, or gives an in-memory database's to
// memConns for the next object. Its statements are closed.
func (e *entity) dropConn() {
	if e.memory != onFile && e.state != nil && e.state.guard != nil {
		changes := int64(-1)
		if !e.state.guard.wrote {
			changes = e.state.usage.changesSeen // nothing written since the count
		}
		e.rt.memConns.put(e.db, e.conn, e.state.guard, changes, e.memBytes)
		return
	}
	e.conn.Close()
	e.db.Close()
}

// exec runs one of the runtime's own statements (transaction control), prepared once
// per activation: parsing them on every turn would cost more than the turn.
func (e *entity) exec(ctx context.Context, q string) error {
	s, err := e.state.stmt(q)
	if err != nil {
		return err
	}
	_, err = s.ExecContext(ctx)
	return err
}

// newTemplate returns the bytes of an empty object database: WAL mode, the runtime's
// schema, checkpointed. A new object's file is a copy of it written in one go (one
// fsync and a rename), instead of SQLite creating it page by page (a rollback journal,
// the switch to WAL and the schema commit cost some eight fsyncs).
func newTemplate(dir string) ([]byte, error) {
	f, err := os.CreateTemp(dir, templatePattern)
	if err != nil {
		return nil, err
	}
	path := f.Name()
	f.Close()
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			os.Remove(path + suffix)
		}
	}()
	db, conn, _, err := openDB(context.Background(), path, "OFF", nil)
	if err != nil {
		return nil, err
	}
	conn.Close()
	if err := db.Close(); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// Temporary files are named by these patterns: the template in the data directory,
// new object files in their shard directory. A crash can leave them behind.
const (
	templatePattern = ".template-*.sqlite"
	newFilePattern  = ".new-*.sqlite"
)

// removeTempFiles deletes the temporary files a crashed process left in dir. Only the
// process holding the directory's lock creates them, so none is in use.
func removeTempFiles(dir string) error {
	var stale []string
	for _, pattern := range []string{
		filepath.Join(dir, templatePattern+"*"), // with its -wal, -shm and -journal
		filepath.Join(dir, "*", "*", newFilePattern),
	} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			return err
		}
		stale = append(stale, m...)
	}
	for _, p := range stale {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// createFromTemplate writes template to path unless a file is already there, and
// reports whether it did. The file appears whole or not at all: it is written and
// synced under a temporary name, renamed, and its directory synced.
func createFromTemplate(path string, template []byte) (bool, error) {
	if _, err := os.Lstat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	_, err := durable.CreateFile(path, template, newFilePattern)
	return true, err
}
