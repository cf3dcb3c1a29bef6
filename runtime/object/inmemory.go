package object

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Small objects run in memory while no one writes them. When a local runtime
// activates an object that has no file yet, its database is an in-memory copy of the
// template; when its file is small (maxLoadBytes) and has no -wal beside it, the
// database is a copy of the file, read whole. The batch runs there:
//
//   - a new object's commit writes the whole database as the object's file
//     (Runtime.newFiles: a file without a name linked into place, or a temporary
//     file renamed, and the file system's syncs shared with every new object
//     committing at the same time): one file creation
//     and no fsync of its own instead of SQLite's WAL and shared-memory files, their
//     removal and seven fsyncs; a reader beside the object finds no file (nothing
//     committed yet) or the whole first commit;
//   - a commit that changed nothing (SQLite's file change counter, header bytes 24-27,
//     did not move) writes nothing: a cold activation that only reads never creates,
//     locks, maps or removes a -wal or -shm file;
//   - a commit that changed an existing object copies the database into its file with
//     SQLite's backup API (backupToFile): one write transaction on the file in WAL
//     mode, durable before the outputs are released, which readers beside the object
//     see whole or not at all, as any commit. The file is never replaced under a
//     reader that has it open.
//
// After a commit that wrote the file, the next batch runs on the file (moveToFile),
// in WAL mode, as every object did before: a busy object commits a few pages per
// batch, not the whole database. Cluster mode (or any Committer but LocalCommitter)
// never runs in memory: its Committer ships the WAL frames of every commit. Nor does
// a runtime with a History, which archives every commit from the object's log.

// memoryPhase says where an open database lives (entity.memory).
type memoryPhase uint8

const (
	onFile       memoryPhase = iota
	memNew                   // in memory, nothing committed: the object has no file
	memCopy                  // in memory, equal to the file (persistedCounter); stays in memory
	memPersisted             // in memory, equal to the file, which a commit of this activation wrote: the next batch reopens on it
)

// maxMemoryPages bounds an in-memory database (maxMemoryPages pages of the template's
// page size; 64 MiB at 4 KiB). A batch that writes more fails with ErrRetryable and
// the object's next activation starts on its file (startOnFile).
var maxMemoryPages = 16384

// maxLoadBytes is the largest object file that an activation reads into memory.
const maxLoadBytes = 256 << 10

// inMemoryStart returns what the object's next activation may start from in memory:
// the template (phase memNew) when the object has no file, the file's bytes (memCopy)
// when it is small, whole (no -wal) and in WAL mode; else phase onFile. With a
// History it is always onFile: a commit in memory reaches the file whole or through
// the backup API, not as frames of the log the history archives. The bytes are in
// the form openInMemory takes (memoryImage); a memCopy's come from imagePool, where
// the caller puts them back (putImage) once the database is open.
func (e *entity) inMemoryStart(path string) ([]byte, memoryPhase) {
	if e.rt.template == nil || e.rt.cfg.Cluster != nil || e.rt.cfg.History != nil {
		return nil, onFile
	}
	if _, ok := e.rt.cfg.Committer.(LocalCommitter); !ok {
		return nil, onFile
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return e.rt.memTemplate, memNew
	}
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxLoadBytes {
		return nil, onFile
	}
	if _, err := os.Lstat(path + "-wal"); !errors.Is(err, fs.ErrNotExist) {
		return nil, onFile // frames SQLite must read (or recover), or a marker of startOnFile
	}
	img, err := readImage(path, int(fi.Size()))
	if err != nil || !wholeWALDatabase(img) {
		putImage(img)
		return nil, onFile // SQLite, opening the file, says what is wrong with it
	}
	return memoryImage(img), memCopy
}

// imagePool holds the buffers that object files are read into for an activation in
// memory: SQLite copies the bytes when it opens them (Deserialize), so each buffer is
// free right after. Reading the file and copying it were 57 % of what a cold
// activation allocated, and the GC this caused set its p99.
var imagePool sync.Pool // of *[]byte, of at most maxLoadBytes

// readImage reads the size bytes of the file at path into a buffer of imagePool;
// the file must still be size bytes long.
func readImage(path string, size int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var img []byte
	if b, ok := imagePool.Get().(*[]byte); ok && cap(*b) >= size {
		img = (*b)[:size]
	} else {
		img = make([]byte, size)
	}
	if _, err := io.ReadFull(f, img); err != nil {
		putImage(img)
		return nil, err
	}
	if n, _ := f.Read(make([]byte, 1)); n != 0 {
		putImage(img)
		return nil, fmt.Errorf("%s grew while read", path)
	}
	return img, nil
}

// putImage gives a buffer of readImage back to imagePool (nil: nothing).
func putImage(img []byte) {
	if img != nil && cap(img) <= maxLoadBytes {
		imagePool.Put(&img)
	}
}

// memoryImage marks img, a database in WAL mode, for an in-memory database, in place:
// bytes 18 and 19 of the header are the file format versions, 2 for WAL mode, which
// an in-memory database cannot open, and 1 for the rollback journal.
func memoryImage(img []byte) []byte {
	img[18], img[19] = 1, 1
	return img
}

// wholeWALDatabase reports whether img is a whole SQLite database in WAL mode by its
// header: the magic string, file format versions 2, and a size in pages that is
// valid (version-valid-for equals the change counter) and matches len(img).
func wholeWALDatabase(img []byte) bool {
	if len(img) < 100 || string(img[:16]) != "SQLite format 3\x00" || img[18] != 2 || img[19] != 2 {
		return false
	}
	pageSize := int(binary.BigEndian.Uint16(img[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	pages := int(binary.BigEndian.Uint32(img[28:32]))
	return binary.BigEndian.Uint32(img[92:96]) == binary.BigEndian.Uint32(img[24:28]) && pages*pageSize == len(img)
}

// openInMemory opens an in-memory database holding a copy of image (a database in
// WAL mode, or marked for memory by memoryImage), with the pragmas of openDB that apply
// in memory (synchronous does not), on a connection of rt.memConns when one is free.
// The caller keeps image: SQLite copies it.
func (rt *Runtime) openInMemory(ctx context.Context, image []byte) (*sql.DB, *sql.Conn, *sqlGuard, error) {
	return rt.memConns.open(ctx, image)
}

// serializer is what modernc.org/sqlite's connection offers to copy a database to
// and from memory.
type serializer interface {
	Serialize() ([]byte, error)
	Deserialize([]byte) error
}

// persist makes the commit of an in-memory database durable in the object's file:
// a new object's database is written as the file (Runtime.newFiles; an error after
// the rename, the sync of the rename, is ErrIndeterminate: the file is there but may not
// survive a crash); an existing object's, when the batch changed it, is copied into
// the file (backupToFile). Either way the next batch runs on the file.
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
	e.memBytes = int64(len(img))
	path := e.rt.dbPath(e.ns.name, e.id)
	if e.memory != memNew {
		if counter == e.persistedCounter {
			return nil
		}
		if err := e.backupToFile(path); err != nil {
			return err
		}
		e.memory, e.persistedCounter = memPersisted, counter
		return nil
	}
	img[18], img[19] = 2, 2 // WAL mode, as the template
	renamed, err := e.rt.newFiles.Create(path, img)
	if renamed {
		e.memory, e.persistedCounter = memPersisted, counter
		e.bornBytes = int64(len(img))
	}
	if err != nil && renamed {
		return fmt.Errorf("%w: %v", ErrIndeterminate, err)
	}
	return err
}

// backupToFile copies the in-memory database into the object's file in one write
// transaction of a connection of its own (SQLite's backup API, which keeps the
// destination in WAL mode), committed with the runtime's synchronous setting. A
// failure leaves the file as it was (the transaction rolls back, or a crash leaves
// its frames uncommitted); its error is the batch's.
func (e *entity) backupToFile(path string) error {
	dst := fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)&_pragma=synchronous(%s)", path, busyTimeout.Milliseconds(), e.rt.cfg.Synchronous)
	return e.conn.Raw(func(dc any) error {
		bk, ok := dc.(interface {
			NewBackup(string) (*sqlite.Backup, error)
		})
		if !ok {
			return fmt.Errorf("sqlite driver has no backup")
		}
		b, err := bk.NewBackup(dst)
		if err != nil {
			return err
		}
		if _, err := b.Step(-1); err != nil {
			b.Finish()
			return err
		}
		return b.Finish()
	})
}

// moveToFile replaces the in-memory database of an object whose file a commit of
// this activation wrote with that file, keeping the instance and its State. When the
// file cannot be opened (WAL mode needs its -wal and -shm files: a full disk refuses
// them), the batch runs on the in-memory copy, which holds exactly what the file
// does: reads work, and a commit that changed something is copied into the file
// (persist) or fails.
func (e *entity) moveToFile() {
	db, conn, g, err := openDB(context.Background(), e.rt.dbPath(e.ns.name, e.id), e.rt.cfg.Synchronous, nil)
	if err != nil {
		e.rt.cfg.Logger.Warn("object: cannot open the file of an object; it runs in memory", "namespace", e.ns.name, "id", e.id.String(), "err", err)
		return
	}
	if e.state != nil {
		e.state.closeStmts()
	}
	e.dropConn()
	e.memory = onFile
	e.db, e.conn = db, conn
	e.attachState(conn, g)
}

// outgrewMemory reports whether a turn of a batch in memory, which returned err, may
// have failed for the bound of its database (maxMemoryPages): SQLite said full, the
// database is at the bound, or SQLite rolled the transaction back (which it does on a
// full database). The batch is then aborted as retryable and the object's next
// activation starts on its file (startOnFile), where it is not bounded.
func (e *entity) outgrewMemory(ctx context.Context, err error) bool {
	if e.memory == onFile {
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

// startOnFile makes the object's next activation run on its file, and returns the
// error that aborts the batch: a new object gets its file (a copy of the template),
// and the file an empty -wal beside it (inMemoryStart then leaves it to SQLite, which
// reads an empty log as none).
func (e *entity) startOnFile() error {
	path := e.rt.dbPath(e.ns.name, e.id)
	var err error
	if e.memory == memNew {
		if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
			_, err = createFromTemplate(path, e.rt.template)
		}
	}
	if err == nil {
		var f *os.File
		if f, err = os.OpenFile(path+"-wal", os.O_WRONLY|os.O_CREATE, 0o644); err == nil {
			err = f.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("%w: a batch outgrew the object's in-memory database (%d pages), and its file could not be prepared: %v", errTxLost, maxMemoryPages, err)
	}
	return fmt.Errorf("%w: a batch outgrew the object's in-memory database (%d pages); its next activation starts on its file", errTxLost, maxMemoryPages)
}
