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

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// A new object starts in memory. When a local runtime activates an object that has no
// file yet, its database is an in-memory copy of the template, and the first batch
// runs there; its commit writes the whole database as the object's file (writeNewFile:
// a temporary file, one fsync, a rename, the directory's fsync) before the batch's
// outputs are released. So a new object costs one file creation and two fsyncs
// instead of SQLite's WAL and shared-memory files, their removal and seven fsyncs, and
// a reader beside the object finds either no file (nothing committed yet) or the whole
// first commit. The next batch runs on the file (moveToFile), in WAL mode as every
// object does. Cluster mode (or any Committer but LocalCommitter) never starts in
// memory: its Committer ships the WAL frames of every commit.

// memoryPhase says where an open database lives (entity.memory).
type memoryPhase uint8

const (
	onFile       memoryPhase = iota
	memNew                   // in memory, nothing committed: the object has no file
	memPersisted             // in memory, equal to the file (persistedCounter): the next batch reopens on it
)

// maxMemoryPages bounds the in-memory database of a new object (maxMemoryPages pages
// of the template's page size; 64 MiB at 4 KiB). A first batch that writes more fails
// with ErrRetryable and the object's next activation starts on its file (startOnFile).
var maxMemoryPages = 16384

// startsInMemory reports whether the object's next activation may start in memory.
func (e *entity) startsInMemory(path string) bool {
	if e.rt.template == nil || e.rt.cfg.Cluster != nil {
		return false
	}
	if _, ok := e.rt.cfg.Committer.(LocalCommitter); !ok {
		return false
	}
	_, err := os.Lstat(path)
	return errors.Is(err, fs.ErrNotExist)
}

// openInMemory opens an in-memory database holding a copy of template, with the
// pragmas of openDB that apply in memory (synchronous does not).
func openInMemory(ctx context.Context, template []byte) (*sql.DB, *sql.Conn, *sqlGuard, error) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return nil, nil, nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	fail := func(err error) (*sql.DB, *sql.Conn, *sqlGuard, error) {
		conn.Close()
		db.Close()
		return nil, nil, nil, err
	}
	img := append([]byte(nil), template...)
	// Bytes 18 and 19 of the header are the file format versions: 2 is WAL mode,
	// which an in-memory database cannot open; 1 is the rollback journal.
	img[18], img[19] = 1, 1
	if err := conn.Raw(func(dc any) error {
		s, ok := dc.(serializer)
		if !ok {
			return fmt.Errorf("sqlite driver cannot deserialize")
		}
		return s.Deserialize(img)
	}); err != nil {
		return fail(err)
	}
	for _, q := range []string{
		"PRAGMA foreign_keys=ON",
		"PRAGMA trusted_schema=OFF",
		fmt.Sprintf("PRAGMA max_page_count=%d", maxMemoryPages),
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fail(fmt.Errorf("%s: %w", q, err))
		}
	}
	g := &sqlGuard{}
	if err := conn.Raw(g.install); err != nil {
		return fail(err)
	}
	return db, conn, g, nil
}

// serializer is what modernc.org/sqlite's connection offers to copy a database to
// and from memory.
type serializer interface {
	Serialize() ([]byte, error)
	Deserialize([]byte) error
}

// persist writes the in-memory database of an object, just committed, as its file,
// durably: always for a new object (memNew), and for one already persisted only when
// the batch changed it (SQLite's file change counter, header bytes 24-27, moved). The
// database is marked WAL mode (header bytes 18 and 19), as the template is. An error
// after the rename (the directory's fsync) is ErrIndeterminate: the file is there but
// may not survive a crash.
func (e *entity) persist() error {
	var img []byte
	if err := e.conn.Raw(func(dc any) error {
		var err error
		img, err = dc.(serializer).Serialize()
		return err
	}); err != nil {
		return err
	}
	if len(img) < 100 {
		return fmt.Errorf("object: serialized database of %d bytes", len(img))
	}
	counter := binary.BigEndian.Uint32(img[24:28])
	if e.memory == memPersisted && counter == e.persistedCounter {
		return nil
	}
	img[18], img[19] = 2, 2
	path := e.rt.dbPath(e.ns.name, e.id)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	renamed, err := writeNewFile(path, img)
	if renamed {
		e.memory, e.persistedCounter = memPersisted, counter
	}
	if err != nil && renamed {
		return fmt.Errorf("%w: %v", ErrIndeterminate, err)
	}
	return err
}

// moveToFile replaces the in-memory database of an object whose first commit was
// persisted with its file, keeping the instance and its State. When the file cannot
// be opened (WAL mode needs its -wal and -shm files: a full disk refuses them), the
// batch runs on the in-memory copy, which holds exactly what the file does: reads
// work, and a commit that changed something rewrites the file (persist) or fails.
func (e *entity) moveToFile() {
	db, conn, g, err := openDB(context.Background(), e.rt.dbPath(e.ns.name, e.id), e.rt.cfg.Synchronous, nil)
	if err != nil {
		e.rt.cfg.Logger.Warn("object: cannot open the file of a new object; it runs in memory", "namespace", e.ns.name, "id", e.id.String(), "err", err)
		return
	}
	if e.state != nil {
		e.state.closeStmts()
	}
	e.conn.Close()
	e.db.Close()
	e.memory = onFile
	e.db, e.conn = db, conn
	e.attachState(conn, g)
}

// outgrewMemory reports whether a turn of a new object's first batch, which returned
// err, may have failed for the bound of its in-memory database (maxMemoryPages):
// SQLite said full, the database is at the bound, or SQLite rolled the transaction
// back (which it does on a full database). The batch is then aborted as retryable and
// the object's next activation starts on its file, where it is not bounded.
func (e *entity) outgrewMemory(ctx context.Context, err error) bool {
	if e.memory != memNew {
		return false
	}
	var se *sqlite.Error
	if e.state.guard.txLost || errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return true
	}
	var n int
	if qerr := e.conn.QueryRowContext(ctx, "PRAGMA page_count").Scan(&n); qerr != nil {
		return true
	}
	return n >= maxMemoryPages
}

// startOnFile gives a new object whose first batch outgrew memory its file, a copy
// of the template, so that its next activation runs there, and returns the error
// that aborts the batch.
func (e *entity) startOnFile() error {
	path := e.rt.dbPath(e.ns.name, e.id)
	err := os.MkdirAll(filepath.Dir(path), 0o755)
	if err == nil {
		_, err = createFromTemplate(path, e.rt.template)
	}
	if err != nil {
		return fmt.Errorf("%w: the first batch of a new object outgrew its in-memory database (%d pages), and its file could not be created: %v", errTxLost, maxMemoryPages, err)
	}
	return fmt.Errorf("%w: the first batch of a new object outgrew its in-memory database (%d pages); its next activation starts on its file", errTxLost, maxMemoryPages)
}
