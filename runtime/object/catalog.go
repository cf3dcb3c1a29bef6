package object

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
)

// The catalogue (DataDir/catalog.sqlite) lists every object's name, size and last
// activity, so that a namespace can be listed, searched and sorted without opening
// the objects' databases. It is a hint kept off the hot path: a commit only records
// the object in an in-memory map (catalog.touch); a flusher writes the map once a
// second, and before every listing, with synchronous=OFF (no fsync). The object
// files are the truth: after a crash (the catalogue was not closed cleanly) a scan of
// the sharded folders reconciles it, opening only the files it did not know, to read
// their names; a file that is gone drops its row.
//
// The map is bounded (catalogPendingMax): when commits outrun the flusher (its
// writes miss the page cache, the disk is busy), a commit of an object not yet in
// the map waits until a flush takes the map, so the catalogue holds at most two
// maps' worth of objects in memory and commits go at its pace. Not while the startup
// scan after an unclean stop runs (reconcile): nothing can flush then, and waiting
// would stop the commits of every object not in the map until the scan of the whole
// data directory ended; the map grows for the scan's length instead.

const catalogFlushEvery = time.Second

// catalogPendingMax is the most objects the pending map holds (about 100 bytes
// each); a flush is started as soon as it is full.
var catalogPendingMax = 1 << 16

type catalog struct {
	rt *Runtime
	db *sql.DB

	mu      sync.Mutex
	pending map[wakeKey]catalogTouch // objects committed since the last flush
	taken   *sync.Cond               // on mu: broadcast when a flush takes pending
	closed  bool                     // close has begun: touch no longer waits
	waits   atomic.Int64             // touches that waited for a flush (Stats.CatalogWaits)
	kick    chan struct{}            // a full map asks the flusher to flush now

	flushMu sync.Mutex    // one flush at a time
	ready   chan struct{} // closed when the startup reconcile has finished
	stop    chan struct{}
	done    sync.WaitGroup
}

// catalogTouch is what a commit tells the catalogue about its object.
type catalogTouch struct {
	name   string // "" when the object has no known name
	active int64  // Unix ns of the commit
	size   int64  // the object's bytes on disk when the commit knew them, else -1
}

var catalogSchema = []string{
	`CREATE TABLE IF NOT EXISTS objects (ns TEXT NOT NULL, id BLOB NOT NULL, name TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL, active INTEGER NOT NULL, PRIMARY KEY (ns, id)) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS objects_name ON objects (ns, name, id)`,
	`CREATE INDEX IF NOT EXISTS objects_size ON objects (ns, size DESC, id)`,
	`CREATE INDEX IF NOT EXISTS objects_active ON objects (ns, active DESC, id)`,
	`CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID`,
}

// openCatalog opens the catalogue and, when the last process did not close it
// cleanly (or it is new), reconciles it with the data directory in the background.
func openCatalog(rt *Runtime) (*catalog, error) {
	path := filepath.Join(rt.cfg.DataDir, "catalog.sqlite")
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	if err != nil {
		return nil, fmt.Errorf("object: catalogue: %w", err)
	}
	db.SetMaxOpenConns(1)
	fail := func(err error) (*catalog, error) {
		db.Close()
		return nil, fmt.Errorf("object: catalogue: %w", err)
	}
	for _, q := range catalogSchema {
		if _, err := db.Exec(q); err != nil {
			return fail(err)
		}
	}
	var clean int64
	if err := db.QueryRow(`SELECT value FROM state WHERE key = 'clean'`).Scan(&clean); err != nil && err != sql.ErrNoRows {
		return fail(err)
	}
	if err := setCatalogClean(db, false); err != nil {
		return fail(err)
	}
	c := &catalog{rt: rt, db: db, pending: map[wakeKey]catalogTouch{}, kick: make(chan struct{}, 1), ready: make(chan struct{}), stop: make(chan struct{})}
	c.taken = sync.NewCond(&c.mu)
	c.done.Add(2)
	go func() {
		defer c.done.Done()
		defer close(c.ready)
		if clean == 1 {
			return
		}
		if err := c.reconcile(); err != nil {
			rt.cfg.Logger.Warn("object: catalogue scan failed; listings may miss objects", "err", err)
		}
	}()
	go c.flushLoop()
	return c, nil
}

// setCatalogClean records durably whether the catalogue is up to date (set on Close,
// cleared at open).
func setCatalogClean(db *sql.DB, clean bool) error {
	conn, err := db.Conn(context.Background())
	if err != nil {
		return err
	}
	defer conn.Close()
	v := 0
	if clean {
		v = 1
	}
	for _, q := range []string{"PRAGMA synchronous=FULL", `INSERT INTO state (key, value) VALUES ('clean', ` + fmt.Sprint(v) + `) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, "PRAGMA synchronous=OFF"} {
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			return err
		}
	}
	return nil
}

// touch records that key committed now, leaving size bytes on disk (-1: not known;
// the flush reads the files' sizes); it costs a map write, unless the map is full and
// key not in it (and the startup scan is over): then it waits for a flush to take
// the map.
func (c *catalog) touch(key wakeKey, name string, now time.Time, size int64) {
	c.mu.Lock()
	if _, ok := c.pending[key]; !ok && len(c.pending) >= catalogPendingMax && !c.closed && c.scanned() {
		c.waits.Add(1)
		for len(c.pending) >= catalogPendingMax && !c.closed {
			select {
			case c.kick <- struct{}{}:
			default: // a flush is already asked for
			}
			c.taken.Wait()
		}
	}
	c.pending[key] = catalogTouch{name: name, active: now.UnixNano(), size: size}
	c.mu.Unlock()
}

// scanned reports whether the startup scan (reconcile) is over.
func (c *catalog) scanned() bool {
	select {
	case <-c.ready:
		return true
	default:
		return false
	}
}

// forget drops key's row and anything pending for it (the object was deleted).
func (c *catalog) forget(key wakeKey) error {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.mu.Lock()
	delete(c.pending, key)
	c.taken.Broadcast()
	c.mu.Unlock()
	_, err := c.db.Exec(`DELETE FROM objects WHERE ns = ? AND id = ?`, key.ns, key.id[:])
	return err
}

func (c *catalog) flushLoop() {
	defer c.done.Done()
	t := time.NewTicker(catalogFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		case <-c.kick:
		}
		if err := c.flush(); err != nil {
			c.rt.cfg.Logger.Warn("object: catalogue flush failed", "err", err)
		}
	}
}

// flush writes the pending touches: each object's size is the one its commit knew
// (a new object's first: no stat calls), else taken
// from its files now; an object whose file is gone loses its row. A later commit or
// a deletion (forget) replaces a touch, so a size it carries is still the file's.
func (c *catalog) flush() error {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.mu.Lock()
	batch := c.pending
	if len(batch) == 0 {
		c.mu.Unlock()
		return nil
	}
	c.pending = map[wakeKey]catalogTouch{}
	c.taken.Broadcast()
	c.mu.Unlock()
	keys := make([]wakeKey, 0, len(batch))
	for key := range batch {
		keys = append(keys, key)
	}
	// In the table's order: each upsert finds its leaf next to the last one's, in
	// pages the previous upserts just read, instead of a random page of a B-tree
	// that outgrows its cache.
	slices.SortFunc(keys, func(a, b wakeKey) int {
		if c := strings.Compare(a.ns, b.ns); c != 0 {
			return c
		}
		return bytes.Compare(a.id[:], b.id[:])
	})
	// Prepared once per flush: parsing the upsert for every object cost more than
	// running it.
	upsert, err := c.db.Prepare(`INSERT INTO objects (ns, id, name, size, active) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (ns, id) DO UPDATE SET name = CASE WHEN excluded.name = '' THEN name ELSE excluded.name END, size = excluded.size, active = excluded.active`)
	if err != nil {
		return err
	}
	defer upsert.Close()
	remove, err := c.db.Prepare(`DELETE FROM objects WHERE ns = ? AND id = ?`)
	if err != nil {
		return err
	}
	defer remove.Close()
	return c.inChunks(len(keys), func(tx *sql.Tx, i int) error {
		key, t := keys[i], batch[keys[i]]
		size, ok := t.size, t.size >= 0
		if !ok {
			size, ok = objectFileSize(c.rt.dbPath(key.ns, ID{raw: key.id}))
		}
		if !ok {
			_, err := tx.Stmt(remove).Exec(key.ns, key.id[:])
			return err
		}
		_, err := tx.Stmt(upsert).Exec(key.ns, key.id[:], t.name, size, t.active)
		return err
	})
}

// catalogChunk is the most rows a transaction of the catalogue writes (inChunks).
var catalogChunk = 256

// catalogCacheMax bounds the catalogue's page cache (boundCache). SQLite's own bound
// (cache_size, 2,000 KiB by default) does not hold here: the caches of every
// database file and of every in-memory object's database share one pool, whose limit
// is the sum of theirs, and a connection that needs a page at its own limit takes the
// pool's oldest unused page, which is often another connection's, or a fresh one.
// With 256 objects open and objects being created, the catalogue's cache kept every
// page a flush had touched: ~100 bytes per object ever written (8 MB at 80,000).
var catalogCacheMax = 4 << 20

// inChunks runs fn(tx, i) for i from 0 to n-1 in transactions of at most
// catalogChunk rows, each committed before the next begins, and bounds the page
// cache after each (a transaction's changed pages stay cached until it commits).
// The rows committed stay if a later chunk fails: the catalogue is a hint.
func (c *catalog) inChunks(n int, fn func(tx *sql.Tx, i int) error) error {
	for lo := 0; lo < n; lo += catalogChunk {
		if err := c.writeChunk(lo, min(lo+catalogChunk, n), fn); err != nil {
			return err
		}
		if err := c.boundCache(); err != nil {
			return err
		}
	}
	return nil
}

func (c *catalog) writeChunk(lo, hi int, fn func(tx *sql.Tx, i int) error) error {
	tx, err := c.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i := lo; i < hi; i++ {
		if err := fn(tx, i); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// boundCache releases the catalogue's cached pages when they are more than
// catalogCacheMax (PRAGMA shrink_memory; the next flush reads them again).
func (c *catalog) boundCache() error {
	conn, err := c.db.Conn(context.Background())
	if err != nil {
		return err
	}
	defer conn.Close()
	used, err := catalogCacheUsed(conn)
	if err != nil || used <= catalogCacheMax {
		return err
	}
	_, err = conn.ExecContext(context.Background(), "PRAGMA shrink_memory")
	return err
}

// catalogCacheUsed is the bytes of the page cache of conn's database (SQLite's
// SQLITE_DBSTATUS_CACHE_USED).
func catalogCacheUsed(conn *sql.Conn) (used int, err error) {
	err = conn.Raw(func(dc any) error {
		s, ok := dc.(sqlite.DBStatus)
		if !ok {
			return fmt.Errorf("sqlite driver has no status")
		}
		used, _, err = s.Status(sqlite.DBStatusCacheUsed, false)
		return err
	})
	return used, err
}

// objectFileSize is the bytes of an object's database and its WAL; ok is false when
// the database file does not exist.
func objectFileSize(path string) (size int64, ok bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	size = fi.Size()
	if wal, err := os.Stat(path + "-wal"); err == nil {
		size += wal.Size()
	}
	return size, true
}

// close stops the flusher, writes what is pending and marks the catalogue clean.
func (c *catalog) close() error {
	c.mu.Lock()
	c.closed = true
	c.taken.Broadcast()
	c.mu.Unlock()
	close(c.stop)
	c.done.Wait()
	err := c.flush()
	if err == nil {
		err = setCatalogClean(c.db, true)
	}
	return errors.Join(err, c.db.Close())
}

// objectFile is one object database found by a scan of the data directory.
type objectFile struct {
	id    [32]byte
	size  int64
	mtime time.Time
}

// scanNamespaceDirs lists the namespace folders of the data directory.
func scanNamespaceDirs(dataDir string) ([]string, error) {
	ents, err := os.ReadDir(dataDir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && nameRE.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// scanObjectFiles lists the object databases of one namespace folder (the sharded
// DataDir/<ns>/<2 hex>/<id>.sqlite), without opening them.
func scanObjectFiles(dataDir, ns string) ([]objectFile, error) {
	root := filepath.Join(dataDir, ns)
	shards, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []objectFile
	for _, sh := range shards {
		if !sh.IsDir() || len(sh.Name()) != 2 {
			continue
		}
		files, err := os.ReadDir(filepath.Join(root, sh.Name()))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			hexID, ok := strings.CutSuffix(f.Name(), ".sqlite")
			var raw [32]byte
			if !ok || len(hexID) != 64 || !strings.HasPrefix(hexID, sh.Name()) {
				continue
			}
			if _, err := hex.Decode(raw[:], []byte(hexID)); err != nil || hex.EncodeToString(raw[:]) != hexID {
				continue
			}
			fi, err := f.Info()
			if err != nil {
				continue // removed meanwhile
			}
			size := fi.Size()
			if wal, err := os.Stat(filepath.Join(root, sh.Name(), f.Name()+"-wal")); err == nil {
				size += wal.Size()
			}
			out = append(out, objectFile{id: raw, size: size, mtime: fi.ModTime()})
		}
	}
	return out, nil
}

// reconcile makes the catalogue match the data directory: rows for files it did not
// know (their names read from the files), sizes refreshed, rows of removed files and
// namespaces dropped.
func (c *catalog) reconcile() error {
	dirs, err := scanNamespaceDirs(c.rt.cfg.DataDir)
	if err != nil {
		return err
	}
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	present := map[string]bool{}
	for _, ns := range dirs {
		select {
		case <-c.stop:
			return nil
		default:
		}
		present[ns] = true
		if err := c.reconcileNamespace(ns); err != nil {
			return fmt.Errorf("namespace %s: %w", ns, err)
		}
	}
	rows, err := c.db.Query(`SELECT DISTINCT ns FROM objects`)
	if err != nil {
		return err
	}
	var gone []string
	for rows.Next() {
		var ns string
		if err := rows.Scan(&ns); err != nil {
			rows.Close()
			return err
		}
		if !present[ns] {
			gone = append(gone, ns)
		}
	}
	rows.Close()
	for _, ns := range gone {
		if _, err := c.db.Exec(`DELETE FROM objects WHERE ns = ?`, ns); err != nil {
			return err
		}
	}
	return nil
}

func (c *catalog) reconcileNamespace(ns string) error {
	files, err := scanObjectFiles(c.rt.cfg.DataDir, ns)
	if err != nil {
		return err
	}
	known := map[[32]byte]bool{}
	rows, err := c.db.Query(`SELECT id FROM objects WHERE ns = ?`, ns)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		var raw [32]byte
		copy(raw[:], id)
		known[raw] = true
	}
	rows.Close()
	err = c.inChunks(len(files), func(tx *sql.Tx, i int) error {
		f := files[i]
		if known[f.id] {
			delete(known, f.id)
			_, err := tx.Exec(`UPDATE objects SET size = ? WHERE ns = ? AND id = ?`, f.size, ns, f.id[:])
			return err
		}
		name, _ := readStoredName(c.rt.dbPath(ns, ID{raw: f.id}))
		_, err := tx.Exec(`INSERT OR IGNORE INTO objects (ns, id, name, size, active) VALUES (?, ?, ?, ?, ?)`,
			ns, f.id[:], name, f.size, f.mtime.UnixNano())
		return err
	})
	if err != nil {
		return err
	}
	gone := make([][32]byte, 0, len(known))
	for id := range known {
		gone = append(gone, id)
	}
	return c.inChunks(len(gone), func(tx *sql.Tx, i int) error {
		_, err := tx.Exec(`DELETE FROM objects WHERE ns = ? AND id = ?`, ns, gone[i][:])
		return err
	})
}

// readStoredName reads the name an object's database holds, opening it read-only.
func readStoredName(path string) (string, error) {
	db, err := openReadOnly(path)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var name []byte
	err = db.QueryRow(`SELECT value FROM _warren_meta WHERE key = 'name'`).Scan(&name)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return string(name), err
}
