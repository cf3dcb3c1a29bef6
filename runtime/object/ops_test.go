package object_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Notebook is the object the operating tests use: a SQL table, a KV entry and an alarm.
type Notebook struct {
	st *object.State
}

var notebookAlarms atomic.Int64

func NewNotebook(ctx context.Context, st *object.State) (*Notebook, error) {
	_, err := st.SQL().Exec(`CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`)
	return &Notebook{st: st}, err
}

func (n *Notebook) Add(ctx context.Context, body string) (int64, error) {
	r, err := n.st.SQL().Exec(`INSERT INTO notes (body) VALUES (?)`, body)
	if err != nil {
		return 0, err
	}
	return r.LastInsertID, n.st.Storage().Put("last", []byte(body))
}

func (n *Notebook) Count(ctx context.Context, _ struct{}) (int64, error) {
	var c int64
	err := n.st.SQL().QueryRow(`SELECT count(*) FROM notes`).Scan(&c)
	return c, err
}

func (n *Notebook) Remind(ctx context.Context, after time.Duration) (struct{}, error) {
	return struct{}{}, n.st.SetAlarm(n.st.Now().Add(after))
}

func (n *Notebook) Alarm(ctx context.Context, info object.AlarmInfo) error {
	notebookAlarms.Add(1)
	return nil
}

type notebookNS struct {
	ns     *object.Namespace[Notebook]
	add    *object.Method[Notebook, string, int64]
	count  *object.Method[Notebook, struct{}, int64]
	remind *object.Method[Notebook, time.Duration, struct{}]
}

var (
	addNote    = object.NewMethod("add", (*Notebook).Add)
	countNotes = object.NewMethod("count", (*Notebook).Count)
	remindMe   = object.NewMethod("remind", (*Notebook).Remind)
)

func registerNotebook(t testing.TB, rt *object.Runtime, name string) notebookNS {
	t.Helper()
	ns, err := object.Register(rt, name, NewNotebook, object.Methods(addNote, countNotes, remindMe))
	if err != nil {
		t.Fatal(err)
	}
	return notebookNS{ns: ns, add: addNote, count: countNotes, remind: remindMe}
}

// must returns v, or fails the test (by a panic: it is used inline) on err.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func listAll(t *testing.T, rt *object.Runtime, ns string, opts object.ObjectListOptions) []object.ObjectInfo {
	t.Helper()
	var all []object.ObjectInfo
	for {
		page := must(rt.ListObjects(context.Background(), ns, opts))
		all = append(all, page.Objects...)
		if page.Next == "" {
			return all
		}
		opts.Cursor = page.Next
	}
}

func TestListObjectsPagesSearchesAndSorts(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	nb := registerNotebook(t, rt.Runtime, "notebook")
	ctx := context.Background()
	for i := range 25 {
		name := fmt.Sprintf("room-%02d", i)
		for range i%3 + 1 {
			must(nb.add.Call(ctx, nb.ns.GetByName(name), strings.Repeat("x", 3000*(i%5))))
		}
	}
	unique := nb.ns.NewUniqueID()
	must(nb.add.Call(ctx, nb.ns.Get(unique), "anonymous"))
	must(nb.add.Call(ctx, nb.ns.GetByName("other"), "o"))

	all := listAll(t, rt.Runtime, "notebook", object.ObjectListOptions{Limit: 7})
	if len(all) != 27 {
		t.Fatalf("listed %d objects, want 27", len(all))
	}
	if all[0].ID != unique.String() || all[0].Name != "" {
		t.Errorf("first by name = %+v, want the unnamed object", all[0])
	}
	for i := 1; i < len(all); i++ {
		if all[i].Name < all[i-1].Name {
			t.Fatalf("not sorted by name at %d: %q after %q", i, all[i].Name, all[i-1].Name)
		}
	}
	rooms := listAll(t, rt.Runtime, "notebook", object.ObjectListOptions{Prefix: "room-1", Limit: 4})
	if len(rooms) != 10 || rooms[0].Name != "room-10" || rooms[9].Name != "room-19" {
		t.Fatalf("prefix room-1: %d objects (%v...)", len(rooms), rooms)
	}
	bySize := listAll(t, rt.Runtime, "notebook", object.ObjectListOptions{Sort: object.SortBySize, Limit: 5})
	for i := 1; i < len(bySize); i++ {
		if bySize[i].Size > bySize[i-1].Size {
			t.Fatalf("not sorted by size at %d", i)
		}
	}
	if len(bySize) != 27 || bySize[0].Size <= bySize[26].Size {
		t.Fatalf("by size: %d objects, sizes %d..%d", len(bySize), bySize[0].Size, bySize[len(bySize)-1].Size)
	}
	rt.Clock.Advance(time.Minute)
	must(nb.add.Call(ctx, nb.ns.GetByName("room-03"), "latest"))
	recent := must(rt.ListObjects(ctx, "notebook", object.ObjectListOptions{Sort: object.SortByActivity, Limit: 1}))
	if recent.Objects[0].Name != "room-03" || !recent.Objects[0].Open {
		t.Fatalf("most recent = %+v, want room-03, open", recent.Objects[0])
	}
	rt.EvictAll()
	recent = must(rt.ListObjects(ctx, "notebook", object.ObjectListOptions{Sort: object.SortByActivity, Limit: 1}))
	if recent.Objects[0].Open {
		t.Fatalf("after eviction: %+v still open", recent.Objects[0])
	}
	if _, err := rt.ListObjects(ctx, "notebook", object.ObjectListOptions{Sort: object.SortBySize, Cursor: recent.Next}); !errors.Is(err, object.ErrInvalidArgument) {
		t.Fatalf("cursor of another sort: %v, want ErrInvalidArgument", err)
	}
}

// TestListedSizeIsTheFiles: the size a listing gives is the bytes of the object's
// files on disk, whether its commit created the file (a new object's first, whose
// size the commit hands the catalogue) or wrote to it after (read from the files).
func TestListedSizeIsTheFiles(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	nb := registerNotebook(t, rt.Runtime, "notebook")
	ctx := context.Background()
	onDisk := func(id string) int64 {
		var n int64
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(filepath.Join(rt.Dir, "notebook", id[:2], id+".sqlite"+suffix)); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	check := func(when string) {
		t.Helper()
		all := listAll(t, rt.Runtime, "notebook", object.ObjectListOptions{})
		if len(all) != 6 {
			t.Fatalf("%s: listed %d objects, want 6", when, len(all))
		}
		for _, o := range all {
			if want := onDisk(o.ID); o.Size != want || want == 0 {
				t.Errorf("%s: %s is listed at %d bytes; its files hold %d", when, o.Name, o.Size, want)
			}
		}
	}
	for i := range 6 {
		must(nb.add.Call(ctx, nb.ns.GetByName(fmt.Sprintf("n%d", i)), strings.Repeat("x", 5000*i)))
	}
	check("created")
	for i := range 6 {
		must(nb.add.Call(ctx, nb.ns.GetByName(fmt.Sprintf("n%d", i)), strings.Repeat("y", 7000)))
	}
	check("written again")
}

// The catalogue is a hint: a crash that loses it (here: the file is deleted while the
// runtime is down, and the clean flag with it) is repaired by a scan at startup,
// which reads the names from the objects' own files.
func TestCatalogueRebuiltByScan(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	nb := registerNotebook(t, rt.Runtime, "notebook")
	for i := range 5 {
		must(nb.add.Call(context.Background(), nb.ns.GetByName(fmt.Sprintf("n%d", i)), "x"))
	}
	rt.Close()
	for _, s := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(rt.Dir, "catalog.sqlite"+s))
	}
	rt2 := objecttest.New(t, object.Config{DataDir: rt.Dir})
	all := listAll(t, rt2.Runtime, "notebook", object.ObjectListOptions{})
	if len(all) != 5 || all[0].Name != "n0" || all[4].Name != "n4" || all[0].Size == 0 {
		t.Fatalf("after rebuild: %+v", all)
	}
}

func TestDeleteObjectRemovesFileAlarmAndListing(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	nb := registerNotebook(t, rt.Runtime, "notebook")
	ctx := context.Background()
	stub := nb.ns.GetByName("doomed")
	must(nb.add.Call(ctx, stub, "secret"))
	must(nb.remind.Call(ctx, stub, time.Hour))
	must(nb.add.Call(ctx, nb.ns.GetByName("kept"), "y"))
	before := notebookAlarms.Load()
	if err := rt.DeleteObject(ctx, "notebook", stub.ID()); err != nil {
		t.Fatal(err)
	}
	path := rt.DatabasePath("notebook", stub.ID())
	for _, s := range []string{"", "-wal", "-shm"} {
		if _, err := os.Stat(path + s); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s%s still exists: %v", filepath.Base(path), s, err)
		}
	}
	all := listAll(t, rt.Runtime, "notebook", object.ObjectListOptions{})
	if len(all) != 1 || all[0].Name != "kept" {
		t.Fatalf("listing after delete: %+v", all)
	}
	rt.Clock.Advance(2 * time.Hour)
	rt.WaitIdle()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the deleted object's alarm re-created it: %v", err)
	}
	if n := notebookAlarms.Load() - before; n != 0 {
		t.Fatalf("the deleted object's alarm fired %d times", n)
	}
	if err := rt.DeleteObject(ctx, "notebook", stub.ID()); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	// An event after the delete starts a new, empty object.
	if n := must(nb.count.Call(ctx, stub, struct{}{})); n != 0 {
		t.Fatalf("recreated object has %d notes, want 0", n)
	}
}

// A backup taken while turns commit is a committed state: every note acknowledged
// before the backup started is in it, the restore brings the object back to it, and
// no turn fails because of the backup.
func TestBackupDuringWritesAndRestore(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	nb := registerNotebook(t, rt.Runtime, "notebook")
	ctx := context.Background()
	stub := nb.ns.GetByName("busy")
	for i := range 20 {
		must(nb.add.Call(ctx, stub, fmt.Sprint(i)))
	}
	var stop atomic.Bool
	var failed atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load() && i < 2000; i++ {
				if _, err := nb.add.Call(ctx, stub, fmt.Sprintf("w%d-%d", w, i)); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	acked := must(nb.count.Call(ctx, stub, struct{}{}))
	dir := t.TempDir()
	m := must(rt.Backup(ctx, dir))
	stop.Store(true)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d turns failed during the backup", failed.Load())
	}
	if len(m.Objects) != 1 || m.Objects[0].Name != "busy" {
		t.Fatalf("manifest: %+v", m)
	}
	total := must(nb.count.Call(ctx, stub, struct{}{}))
	if err := must(rt.Restore(ctx, dir, object.RestoreOptions{})); len(err) != 1 {
		t.Fatalf("restored %v", err)
	}
	got := must(nb.count.Call(ctx, stub, struct{}{}))
	if got < acked || got > total {
		t.Fatalf("restored %d notes; %d were acknowledged before the backup, %d at its end", got, acked, total)
	}
	if got == total && total > acked {
		t.Logf("backup held every note (%d); writers were slower than the backup", got)
	}

	// Into a fresh data directory, by another runtime.
	fresh := objecttest.New(t, object.Config{})
	nb2 := registerNotebook(t, fresh.Runtime, "notebook")
	must(fresh.Restore(ctx, dir, object.RestoreOptions{}))
	if n := must(nb2.count.Call(ctx, stub, struct{}{})); n != got {
		t.Fatalf("fresh restore has %d notes, want %d", n, got)
	}
}

func TestRestoreRefusesDamagedOrForeignBackups(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	nb := registerNotebook(t, rt.Runtime, "notebook")
	registerNotebook(t, rt.Runtime, "other")
	ctx := context.Background()
	stub := nb.ns.GetByName("precious")
	for i := range 200 {
		must(nb.add.Call(ctx, stub, strings.Repeat(fmt.Sprint(i), 50)))
	}
	dir := t.TempDir()
	m := must(rt.Backup(ctx, dir, object.ObjectRef{Namespace: "notebook", ID: stub.ID()}))
	must(nb.add.Call(ctx, stub, "after the backup"))
	file := filepath.Join(dir, m.Objects[0].File)
	orig := must(os.ReadFile(file))

	// Truncated: the manifest's size and digest no longer match.
	os.WriteFile(file, orig[:len(orig)/2], 0o644)
	_, err := rt.Restore(ctx, dir, object.RestoreOptions{})
	if !errors.Is(err, object.ErrCorrupt) || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("truncated backup: %v, want ErrCorrupt saying truncated", err)
	}
	// The same truncated file restored on its own (no manifest): SQLite's header says so.
	if err := rt.RestoreFile(ctx, "notebook", stub.ID(), file); !errors.Is(err, object.ErrCorrupt) || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("truncated file: %v, want ErrCorrupt saying truncated", err)
	}
	// Damaged in the middle, same size (every b-tree page header after the first
	// page scrambled): integrity_check catches it.
	bad := bytes.Clone(orig)
	for p := 4096; p+16 < len(bad); p += 4096 {
		for i := p; i < p+16; i++ {
			bad[i] ^= 0x5a
		}
	}
	os.WriteFile(file, bad, 0o644)
	if err := rt.RestoreFile(ctx, "notebook", stub.ID(), file); !errors.Is(err, object.ErrCorrupt) {
		t.Fatalf("damaged file: %v, want ErrCorrupt", err)
	}
	os.WriteFile(file, orig, 0o644)
	// Another namespace: the ID's tag does not match, nor does the stored name.
	mb := must(os.ReadFile(filepath.Join(dir, "manifest.json")))
	os.WriteFile(filepath.Join(dir, "manifest.json"), bytes.ReplaceAll(mb, []byte(`"notebook"`), []byte(`"other"`)), 0o644)
	if _, err := rt.Restore(ctx, dir, object.RestoreOptions{}); !errors.Is(err, object.ErrInvalidArgument) {
		t.Fatalf("backup claimed by another namespace: %v, want ErrInvalidArgument", err)
	}
	otherID := must(rt.ParseObject("other", "precious"))
	if err := rt.RestoreFile(ctx, "other", otherID, file); !errors.Is(err, object.ErrInvalidArgument) {
		t.Fatalf("file of notebook/precious restored as other/precious: %v, want ErrInvalidArgument", err)
	}
	// Nothing was replaced by the refused restores.
	if n := must(nb.count.Call(ctx, stub, struct{}{})); n != 201 {
		t.Fatalf("after refused restores: %d notes, want 201", n)
	}
	// The sound file restores.
	os.WriteFile(filepath.Join(dir, "manifest.json"), mb, 0o644)
	must(rt.Restore(ctx, dir, object.RestoreOptions{Namespace: "notebook"}))
	if n := must(nb.count.Call(ctx, stub, struct{}{})); n != 200 {
		t.Fatalf("after restore: %d notes, want 200", n)
	}
}

// Restoring an object brings its alarm back into the wake index.
func TestRestoreRearmsAlarm(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	nb := registerNotebook(t, rt.Runtime, "notebook")
	ctx := context.Background()
	stub := nb.ns.GetByName("reminder")
	must(nb.remind.Call(ctx, stub, time.Hour))
	dir := t.TempDir()
	must(rt.Backup(ctx, dir))
	fresh := objecttest.New(t, object.Config{Clock: rt.Clock})
	registerNotebook(t, fresh.Runtime, "notebook")
	before := notebookAlarms.Load()
	must(fresh.Restore(ctx, dir, object.RestoreOptions{}))
	fresh.Clock.Advance(2 * time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for notebookAlarms.Load() == before && time.Now().Before(deadline) {
		fresh.WaitIdle()
		time.Sleep(time.Millisecond)
	}
	if notebookAlarms.Load() == before {
		t.Fatal("the restored alarm never fired")
	}
}

func TestQueryIsReadOnlyUnlessWrite(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	nb := registerNotebook(t, rt.Runtime, "notebook")
	ctx := context.Background()
	stub := nb.ns.GetByName("q")
	must(nb.add.Call(ctx, stub, "hello"))
	attached := filepath.Join(t.TempDir(), "x.db")
	res := must(rt.Query(ctx, "notebook", stub.ID(), `SELECT id, body FROM notes`, object.QueryOptions{}))
	if len(res.Rows) != 1 || res.Rows[0][1] != "hello" {
		t.Fatalf("select: %+v", res)
	}
	kv := must(rt.KVEntries(ctx, "notebook", stub.ID(), "", "", 10))
	if len(kv.Entries) != 1 || kv.Entries[0].Key != "last" || kv.Entries[0].Value != "hello" || kv.Next != "" {
		t.Fatalf("kv: %+v", kv)
	}
	for _, q := range []string{
		`INSERT INTO notes (body) VALUES ('sneaky')`,
		`DELETE FROM notes`,
		`CREATE TABLE t (x)`,
		`PRAGMA query_only=0`,
		`ATTACH 'file:` + attached + `?mode=rwc' AS x`,
		`PRAGMA journal_mode=DELETE`,
		`SELECT * FROM _warren_kv`,
	} {
		if _, err := rt.Query(ctx, "notebook", stub.ID(), q, object.QueryOptions{}); err == nil {
			t.Errorf("read-only query %q succeeded", q)
		}
	}
	if n := must(nb.count.Call(ctx, stub, struct{}{})); n != 1 {
		t.Fatalf("notes after refused writes: %d", n)
	}
	if _, err := rt.Query(ctx, "notebook", stub.ID(), `ATTACH 'file:`+attached+`?mode=rwc' AS x`, object.QueryOptions{Write: true}); !errors.Is(err, object.ErrSQLNotAllowed) {
		t.Fatalf("ATTACH in write mode: %v, want ErrSQLNotAllowed", err)
	}
	if _, err := os.Stat(attached); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused ATTACH created %s: %v", attached, err)
	}
	w := must(rt.Query(ctx, "notebook", stub.ID(), `INSERT INTO notes (body) VALUES ('by operator')`, object.QueryOptions{Write: true}))
	if w.RowsWritten != 1 {
		t.Fatalf("write: %+v", w)
	}
	if n := must(nb.count.Call(ctx, stub, struct{}{})); n != 2 {
		t.Fatalf("notes after the operator's write: %d, want 2", n)
	}
	if _, err := rt.Query(ctx, "notebook", stub.ID(), `DELETE FROM _warren_kv`, object.QueryOptions{Write: true}); !errors.Is(err, object.ErrSQLNotAllowed) {
		t.Fatalf("write to a runtime table: %v, want ErrSQLNotAllowed", err)
	}
	if _, err := rt.Query(ctx, "notebook", stub.ID(), `COMMIT`, object.QueryOptions{Write: true}); !errors.Is(err, object.ErrSQLNotAllowed) {
		t.Fatalf("COMMIT: %v, want ErrSQLNotAllowed", err)
	}
}

func TestExportJSONAndInspect(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	nb := registerNotebook(t, rt.Runtime, "notebook")
	ctx := context.Background()
	stub := nb.ns.GetByName("exp")
	must(nb.add.Call(ctx, stub, "one"))
	must(nb.add.Call(ctx, stub, "two"))
	must(nb.remind.Call(ctx, stub, time.Hour))
	var buf bytes.Buffer
	if err := rt.ExportJSON(ctx, "notebook", stub.ID(), &buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Name string `json:"name"`
		KV   []struct {
			Key   string `json:"key"`
			Value any    `json:"value"`
		} `json:"kv"`
		Tables map[string]struct {
			Columns []string `json:"columns"`
			Rows    [][]any  `json:"rows"`
		} `json:"tables"`
		Alarms struct {
			Rows [][]any `json:"rows"`
		} `json:"alarms"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, buf.String())
	}
	if doc.Name != "exp" || len(doc.KV) != 1 || doc.KV[0].Value != "two" || len(doc.Tables["notes"].Rows) != 2 || len(doc.Alarms.Rows) != 1 {
		t.Fatalf("export: %s", buf.String())
	}
	var sq bytes.Buffer
	if err := rt.ExportSQLite(ctx, "notebook", stub.ID(), &sq); err != nil || !bytes.HasPrefix(sq.Bytes(), []byte("SQLite format 3\x00")) {
		t.Fatalf("sqlite export: %v, %d bytes", err, sq.Len())
	}
	d := must(rt.Inspect(ctx, "notebook", stub.ID()))
	if d.Name != "exp" || len(d.Tables) != 1 || d.Tables[0].Rows != 2 || len(d.Alarms) != 1 || d.KVEntries != 1 || d.Metrics == nil || d.Metrics.Turns < 3 || len(d.Recent) == 0 {
		t.Fatalf("inspect: %+v", d)
	}
	top := rt.TopObjects(5)
	if len(top) != 1 || top[0].Name != "exp" {
		t.Fatalf("top objects: %+v", top)
	}
}
