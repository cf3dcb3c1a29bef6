package object

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/warrenhq/warren/runtime/internal/durable"
)

// A backup is a folder: manifest.json and one SQLite file per object at
// <namespace>/<id>.sqlite. Each file is a consistent, committed state of its object,
// written by VACUUM INTO on a read-only connection beside the object's own: in WAL
// mode that connection reads the state of the last commit and sees nothing of a
// batch in progress, so a backup is taken while the app serves and delays no turn.
// Objects are consistent one by one (as each is its own transaction), not with each
// other.
//
// A restore checks everything before it replaces anything: the manifest's format,
// each file's size and SHA-256 (a truncated or damaged copy is refused with a clear
// error), that its ID belongs to its namespace (IDs carry a namespace tag), that the
// file says it is of that object (backups and exports are stamped with it), that a
// stored name hashes to that ID, SQLite's header and integrity_check. Then each
// object is held (no turn runs), its sockets closed with CloseServiceRestart so that
// clients reconnect to the restored state, its files replaced, its wake entry
// rebuilt from the restored alarms.

// BackupFormat names the layout of a backup folder in its manifest.
const BackupFormat = "warren-backup/1"

// BackupManifest is a backup folder's manifest.json.
type BackupManifest struct {
	Format  string        `json:"format"`
	Created time.Time     `json:"created"`
	Objects []BackupEntry `json:"objects"`
}

// BackupEntry is one object of a backup.
type BackupEntry struct {
	Namespace string `json:"namespace"`
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	File      string `json:"file"` // relative to the backup folder
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
}

// ObjectRef names one object for backups: its namespace and ID.
type ObjectRef struct {
	Namespace string
	ID        ID
}

// Backup writes a backup of the given objects into dir, which must not exist or be
// empty. Objects without a database are skipped. With no objects, it backs up every
// object of every namespace in the data directory.
func (rt *Runtime) Backup(ctx context.Context, dir string, objects ...ObjectRef) (BackupManifest, error) {
	if err := emptyDir(dir); err != nil {
		return BackupManifest{}, err
	}
	if len(objects) == 0 {
		all, err := rt.allObjects()
		if err != nil {
			return BackupManifest{}, err
		}
		objects = all
	}
	m := BackupManifest{Format: BackupFormat, Created: time.Now().UTC(), Objects: []BackupEntry{}}
	for _, o := range objects {
		if err := ctx.Err(); err != nil {
			return BackupManifest{}, err
		}
		if _, err := rt.core(o.Namespace); err != nil {
			return BackupManifest{}, err
		}
		ent, ok, err := rt.backupOne(ctx, dir, o)
		if err != nil {
			return BackupManifest{}, fmt.Errorf("object: backup %s/%s: %w", o.Namespace, o.ID, err)
		}
		if ok {
			m.Objects = append(m.Objects, ent)
		}
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := writeFileSync(filepath.Join(dir, "manifest.json"), append(b, '\n')); err != nil {
		return BackupManifest{}, fmt.Errorf("object: backup: %w", err)
	}
	return m, nil
}

// allObjects lists every object database of the data directory.
func (rt *Runtime) allObjects() ([]ObjectRef, error) {
	nss, err := scanNamespaceDirs(rt.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	var out []ObjectRef
	for _, ns := range nss {
		files, err := scanObjectFiles(rt.cfg.DataDir, ns)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			out = append(out, ObjectRef{ns, ID{raw: f.id}})
		}
	}
	return out, nil
}

func (rt *Runtime) backupOne(ctx context.Context, dir string, o ObjectRef) (BackupEntry, bool, error) {
	src := rt.dbPath(o.Namespace, o.ID)
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		return BackupEntry{}, false, nil
	}
	rel := filepath.Join(o.Namespace, o.ID.String()+".sqlite")
	dst := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return BackupEntry{}, false, err
	}
	if err := snapshotTo(ctx, src, dst, o.Namespace, o.ID); err != nil {
		return BackupEntry{}, false, err
	}
	size, sum, err := fileDigest(dst)
	if err != nil {
		return BackupEntry{}, false, err
	}
	name, _ := readStoredName(dst)
	return BackupEntry{Namespace: o.Namespace, ID: o.ID.String(), Name: name, File: filepath.ToSlash(rel), Size: size, SHA256: sum}, true, nil
}

// snapshotTo writes the last committed state of the database at src into a new file
// dst (VACUUM INTO on a read-only connection), stamps it with the object it is of
// (_warren_meta 'origin' = "<namespace>/<id>", which a restore checks) and syncs it.
func snapshotTo(ctx context.Context, src, dst, ns string, id ID) error {
	db, err := openSnapshotSource(src)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		os.Remove(dst)
		return err
	}
	out, err := sql.Open("sqlite", dst)
	if err != nil {
		return err
	}
	_, err = out.ExecContext(ctx, `INSERT INTO _warren_meta (key, value) VALUES ('origin', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, []byte(ns+"/"+id.String()))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("stamp the copy: %w", err)
	}
	f, err := os.Open(dst)
	if err != nil {
		return err
	}
	err = f.Sync()
	f.Close()
	return err
}

// RestoreOptions selects what Restore restores.
type RestoreOptions struct {
	Namespace string // only this namespace ("": every one in the backup)
	ID        *ID    // only this object (needs Namespace)
}

// Restore restores objects from the backup folder dir (see the notes above) and
// returns what it restored. Nothing is replaced unless every selected object passed
// the checks. Selecting an object the backup does not hold fails with ErrNotFound.
func (rt *Runtime) Restore(ctx context.Context, dir string, opts RestoreOptions) ([]BackupEntry, error) {
	m, err := ReadBackupManifest(dir)
	if err != nil {
		return nil, err
	}
	var chosen []BackupEntry
	for _, e := range m.Objects {
		if opts.Namespace != "" && e.Namespace != opts.Namespace {
			continue
		}
		if opts.ID != nil && e.ID != opts.ID.String() {
			continue
		}
		chosen = append(chosen, e)
	}
	if len(chosen) == 0 && (opts.Namespace != "" || opts.ID != nil) {
		return nil, fmt.Errorf("%w: the backup in %s holds no such object", ErrNotFound, dir)
	}
	ids := make([]ID, len(chosen))
	for i, e := range chosen {
		if ids[i], err = rt.checkBackupEntry(dir, e); err != nil {
			return nil, err
		}
	}
	for i, e := range chosen {
		if err := rt.RestoreFile(ctx, e.Namespace, ids[i], filepath.Join(dir, filepath.FromSlash(e.File))); err != nil {
			return nil, err
		}
	}
	return chosen, nil
}

// ReadBackupManifest reads and checks the manifest of a backup folder.
func ReadBackupManifest(dir string) (BackupManifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return BackupManifest{}, fmt.Errorf("%w: restore: no backup at %s (no manifest.json)", ErrNotFound, dir)
	}
	if err != nil {
		return BackupManifest{}, fmt.Errorf("object: restore: %s is not a backup: %w", dir, err)
	}
	var m BackupManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return BackupManifest{}, fmt.Errorf("%w: restore: %s/manifest.json is damaged: %v", ErrInvalidArgument, dir, err)
	}
	if m.Format != BackupFormat {
		return BackupManifest{}, fmt.Errorf("%w: restore: backup format %q, want %q", ErrInvalidArgument, m.Format, BackupFormat)
	}
	return m, nil
}

// checkBackupEntry verifies one object of a backup before anything is replaced.
func (rt *Runtime) checkBackupEntry(dir string, e BackupEntry) (ID, error) {
	c, err := rt.core(e.Namespace)
	if err != nil {
		return ID{}, err
	}
	id, err := c.keys.parse(e.ID)
	if err != nil {
		return ID{}, fmt.Errorf("%w: restore: object %s of the backup is not of namespace %q: %v", ErrInvalidArgument, e.ID, e.Namespace, err)
	}
	want := filepath.ToSlash(filepath.Join(e.Namespace, e.ID+".sqlite"))
	if e.File != want {
		return ID{}, fmt.Errorf("%w: restore: backup entry %s/%s names file %q, want %q", ErrInvalidArgument, e.Namespace, e.ID, e.File, want)
	}
	path := filepath.Join(dir, filepath.FromSlash(e.File))
	size, sum, err := fileDigest(path)
	if err != nil {
		return ID{}, fmt.Errorf("object: restore %s/%s: %w", e.Namespace, e.ID, err)
	}
	if size != e.Size || sum != e.SHA256 {
		return ID{}, fmt.Errorf("%w: restore %s/%s: %s is truncated or damaged: %d bytes with SHA-256 %s, the manifest says %d bytes with %s",
			ErrCorrupt, e.Namespace, e.ID, path, size, short(sum), e.Size, short(e.SHA256))
	}
	return id, nil
}

func short(sum string) string { return truncate(sum, 12) }

// RestoreFile replaces object id of namespace ns with the SQLite file at path (a
// backup's or an export's). The file is checked first (header, integrity_check, and
// that a stored name hashes to id in ns) and copied; the copy is checked again
// before it replaces the object's database.
func (rt *Runtime) RestoreFile(ctx context.Context, ns string, id ID, path string) error {
	if err := rt.notInCluster("RestoreFile"); err != nil {
		return err
	}
	c, err := rt.core(ns)
	if err != nil {
		return err
	}
	if err := checkObjectFile(c, id, path); err != nil {
		return err
	}
	dst := rt.dbPath(ns, id)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := copyToTemp(path, filepath.Dir(dst))
	if err != nil {
		return fmt.Errorf("object: restore %s/%s: %w", ns, id, err)
	}
	defer os.Remove(tmp)
	if err := checkObjectFile(c, id, tmp); err != nil {
		return err
	}
	_, release, err := rt.hold(ctx, c, id)
	if err != nil {
		return err
	}
	defer release()
	rt.closeObjectSockets(ctx, c, id, CloseServiceRestart, "object restored")
	if err := rt.replaceObjectFile(ns, id, tmp); err != nil {
		return err
	}
	if h := rt.cfg.History; h != nil {
		if err := h.Replaced(ns, id, dst); err != nil {
			return fmt.Errorf("object: restore %s/%s: history: %w", ns, id, err)
		}
	}
	return nil
}

// replaceObjectFile makes the checked file tmp object id's database, while the
// object is held: its log and shared memory are removed, tmp renamed over it, its
// wake entry rebuilt from its alarms, its metrics and catalogue entry renewed.
func (rt *Runtime) replaceObjectFile(ns string, id ID, tmp string) error {
	dst := rt.dbPath(ns, id)
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(dst + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("object: restore %s/%s: %w", ns, id, err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("object: restore %s/%s: %w", ns, id, err)
	}
	if err := durable.SyncDir(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("object: restore %s/%s: %w", ns, id, err)
	}
	key := wakeKey{ns, id.raw}
	next, has, err := earliestAlarm(dst)
	if err != nil {
		return fmt.Errorf("object: restore %s/%s: alarms: %w", ns, id, err)
	}
	if has {
		if err := rt.wake.ensure(key, next); err != nil {
			return fmt.Errorf("object: restore %s/%s: %w", ns, id, err)
		}
	}
	rt.wake.settle(key, next, has)
	name, _ := readStoredName(dst)
	rt.ops.metrics.forget(key)
	rt.ops.catalog.touch(key, name, rt.cfg.Clock.Now(), -1)
	return nil
}

// checkObjectFile refuses a file that is not a whole, sound object database of id,
// stamped as a backup or export of it.
func checkObjectFile(c *nsCore, id ID, path string) error {
	if err := checkDatabaseFile(c, id, path); err != nil {
		return err
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: restore %s/%s: %s: "+format, append([]any{ErrCorrupt, c.name, id, path}, args...)...)
	}
	db, err := openReadOnly(path)
	if err != nil {
		return fail("%v", err)
	}
	defer db.Close()
	var origin []byte
	err = db.QueryRow(`SELECT value FROM _warren_meta WHERE key = 'origin'`).Scan(&origin)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: restore %s/%s: %s is not a Warren backup or export (it does not say which object it is of)", ErrInvalidArgument, c.name, id, path)
	case err != nil:
		return fail("not an object database: %v", err)
	case string(origin) != c.name+"/"+id.String():
		return fmt.Errorf("%w: restore %s/%s: %s is a backup of %s (another namespace or object)", ErrInvalidArgument, c.name, id, path, truncate(string(origin), 140))
	}
	return nil
}

// checkDatabaseFile refuses a file that is not a whole, sound object database
// (SQLite's header, integrity_check) or whose stored name is not id's.
func checkDatabaseFile(c *nsCore, id ID, path string) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: restore %s/%s: %s: "+format, append([]any{ErrCorrupt, c.name, id, path}, args...)...)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("object: restore %s/%s: %w", c.name, id, err)
	}
	var hdr [100]byte
	_, err = io.ReadFull(f, hdr[:])
	fi, serr := f.Stat()
	f.Close()
	if err != nil || serr != nil || string(hdr[:16]) != "SQLite format 3\x00" {
		return fail("not a SQLite database")
	}
	pageSize := int64(binary.BigEndian.Uint16(hdr[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	pages := int64(binary.BigEndian.Uint32(hdr[28:32]))
	if pageSize < 512 || fi.Size()%pageSize != 0 || (pages > 0 && fi.Size() < pages*pageSize) {
		return fail("truncated: %d bytes, the header says %d pages of %d bytes", fi.Size(), pages, pageSize)
	}
	db, err := openReadOnly(path)
	if err != nil {
		return fail("%v", err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check(1)`).Scan(&res); err != nil {
		return fail("integrity_check: %v", err)
	}
	if res != "ok" {
		return fail("integrity_check: %s", res)
	}
	var name []byte
	err = db.QueryRow(`SELECT value FROM _warren_meta WHERE key = 'name'`).Scan(&name)
	switch {
	case err == nil:
		if got := c.keys.fromName(string(name)); !got.Equal(id) {
			return fmt.Errorf("%w: restore %s/%s: %s holds object %q, whose ID in namespace %q is %s (a backup of another object or namespace)",
				ErrInvalidArgument, c.name, id, path, truncate(string(name), 80), c.name, got)
		}
	case errors.Is(err, sql.ErrNoRows):
	default:
		return fail("not an object database: %v", err)
	}
	return nil
}

// earliestAlarm reads the earliest due time of a database's alarms and schedules.
func earliestAlarm(path string) (time.Time, bool, error) {
	db, err := openReadOnly(path)
	if err != nil {
		return time.Time{}, false, err
	}
	defer db.Close()
	var due *int64
	if err := db.QueryRow(`SELECT min(due) FROM _warren_alarms`).Scan(&due); noAlarmTable(err) {
		return time.Time{}, false, nil
	} else if err != nil {
		return time.Time{}, false, err
	}
	if due == nil {
		return time.Time{}, false, nil
	}
	return fromUnixNano(*due), true, nil
}

// copyToTemp copies src into a new temporary file in dir (a name the runtime removes
// at startup if a crash leaves it), synced.
func copyToTemp(src, dir string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, newFilePattern)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

func fileDigest(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// emptyDir creates dir, or checks that it is empty.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("object: backup: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("object: backup: %w", err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("%w: backup: %s is not empty", ErrInvalidArgument, dir)
	}
	return nil
}

func writeFileSync(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
