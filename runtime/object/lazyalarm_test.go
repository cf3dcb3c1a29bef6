package object_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/history"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// fileShape returns an object file's page count and whether it has the alarm table.
func fileShape(t *testing.T, rt *objecttest.Runtime, ns string, id object.ID) (pages int, alarms bool) {
	t.Helper()
	db := rt.OpenDB(t, ns, id)
	if err := db.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name IN ('_warren_alarms', '_warren_alarms_due')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return pages, n == 2
}

// A new object's file is 3 pages (the schema, _warren_kv, _warren_meta): the alarm
// table and its index come with the first alarm or schedule, in memory and on file.
func TestNewObjectFileIsThreePages(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  object.Config
	}{
		{"in memory", object.Config{}},
		{"on file", object.Config{Committer: &failingCommitter{}}}, // not LocalCommitter: no in-memory start
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := objecttest.New(t, tc.cfg)
			ns := registerTimer(t, rt.Runtime, &recorder{})
			for _, name := range []string{"plain", "timed"} {
				run(t, ns, name, func(st *object.State) error { return st.Storage().Put("k", []byte("v")) })
			}
			run(t, ns, "timed", func(st *object.State) error { return st.SetAlarm(st.Now().Add(time.Hour)) })
			rt.EvictAll()
			if pages, alarms := fileShape(t, rt, "timer", ns.GetByName("plain").ID()); pages != 3 || alarms {
				t.Errorf("new object's file: %d pages, alarm table %v; want 3 pages and none", pages, alarms)
			}
			if pages, alarms := fileShape(t, rt, "timer", ns.GetByName("timed").ID()); pages != 5 || !alarms {
				t.Errorf("object with an alarm: %d pages, alarm table %v; want 5 pages and the table", pages, alarms)
			}
		})
	}
}

// The first SetAlarm or Schedule creates the alarm table inside its turn's transaction.
// When that is rolled back, so is the CREATE: a later alarm must create it again (a
// flag saying the table exists, kept in memory past the rollback, would make the
// later write fail with "no such table"), and the alarm must fire.
func TestAlarmTableCreatedByARolledBackWrite(t *testing.T) {
	fc := &failingCommitter{}
	for _, tc := range []struct {
		name string
		cfg  object.Config
		// undone runs write and undoes it: the turn fails, or a sub-transaction does,
		// or the commit.
		undone func(t *testing.T, ns *object.Namespace[Timer], name string, write func(st *object.State) error)
	}{
		{"failed turn", object.Config{}, func(t *testing.T, ns *object.Namespace[Timer], name string, write func(st *object.State) error) {
			err := ns.RunLocal(context.Background(), ns.GetByName(name), func(ctx context.Context, obj *Timer) error {
				if err := write(obj.st); err != nil {
					return err
				}
				return errors.New("roll back")
			})
			if err == nil || err.Error() != "roll back" {
				t.Fatalf("turn: %v, want its own error", err)
			}
		}},
		{"failed sub-transaction", object.Config{}, func(t *testing.T, ns *object.Namespace[Timer], name string, write func(st *object.State) error) {
			run(t, ns, name, func(st *object.State) error {
				err := st.Transaction(func() error {
					if err := write(st); err != nil {
						return err
					}
					return errors.New("roll back")
				})
				if err == nil || err.Error() != "roll back" {
					return err
				}
				return nil
			})
		}},
		{"failed commit", object.Config{Committer: fc}, func(t *testing.T, ns *object.Namespace[Timer], name string, write func(st *object.State) error) {
			fc.fail.Store(true)
			defer fc.fail.Store(false)
			err := ns.RunLocal(context.Background(), ns.GetByName(name), func(ctx context.Context, obj *Timer) error { return write(obj.st) })
			if err == nil {
				t.Fatal("the commit did not fail")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := objecttest.New(t, tc.cfg)
			rec := &recorder{}
			ns := registerTimer(t, rt.Runtime, rec)
			start := rt.Clock.Now()
			// the object exists (its file too, with the on-file Committer) before the
			// undone write, which then runs on a warm activation
			run(t, ns, "a", func(st *object.State) error { return st.Storage().Put("k", []byte("v")) })
			run(t, ns, "s", func(st *object.State) error { return st.Storage().Put("k", []byte("v")) })
			tc.undone(t, ns, "a", func(st *object.State) error { return st.SetAlarm(start.Add(time.Minute)) })
			tc.undone(t, ns, "s", func(st *object.State) error { return st.Schedule("s", object.At(start.Add(time.Minute)), nil) })
			for _, name := range []string{"a", "s"} {
				run(t, ns, name, func(st *object.State) error {
					if _, ok, err := st.GetAlarm(); ok || err != nil {
						return errors.Join(errors.New("an alarm after the rollback"), err)
					}
					if s, err := st.Schedules(); len(s) != 0 || err != nil {
						return errors.Join(errors.New("a schedule after the rollback"), err)
					}
					return nil
				})
			}
			run(t, ns, "a", func(st *object.State) error { return st.SetAlarm(start.Add(2 * time.Minute)) })
			run(t, ns, "s", func(st *object.State) error {
				return st.Schedule("s", object.At(start.Add(2*time.Minute)), []byte("p"))
			})
			rt.Clock.Advance(time.Minute)
			settle(t, rt)
			if n := len(rec.firings()); n != 0 {
				t.Fatalf("%d firings of rolled-back alarms: %+v", n, rec.firings())
			}
			rt.Clock.Advance(time.Minute)
			eventually(t, "both alarms", func() bool { return len(rec.firings()) == 2 })
		})
	}
}

// An object without the alarm table reads as having no alarms everywhere: its own
// reads and deletes, DeleteAll, a wake for nothing, Inspect, the JSON export,
// and a backup restored into another runtime (whose wake index reads its alarms).
func TestObjectWithoutAlarmTable(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	rec := &recorder{}
	ns := registerTimer(t, rt.Runtime, rec)
	ctx := context.Background()
	run(t, ns, "none", func(st *object.State) error {
		if err := st.Storage().Put("k", []byte("v")); err != nil {
			return err
		}
		if _, ok, err := st.GetAlarm(); ok || err != nil {
			return errors.Join(errors.New("GetAlarm found one"), err)
		}
		if s, err := st.Schedules(); s != nil || err != nil {
			return errors.Join(errors.New("Schedules found some"), err)
		}
		if err := st.DeleteAlarm(); err != nil {
			return err
		}
		if ok, err := st.Unschedule("x"); ok || err != nil {
			return errors.Join(errors.New("Unschedule found one"), err)
		}
		return nil
	})
	run(t, ns, "cleared", func(st *object.State) error { return st.Storage().DeleteAll() })
	id := ns.GetByName("none").ID()
	rt.EvictAll()
	if _, alarms := fileShape(t, rt, "timer", id); alarms {
		t.Fatal("reads and deletes created the alarm table")
	}
	d, err := rt.Inspect(ctx, "timer", id)
	if err != nil || len(d.Alarms) != 0 || d.KVEntries != 1 {
		t.Fatalf("inspect: %+v, %v", d, err)
	}
	var buf bytes.Buffer
	if err := rt.ExportJSON(ctx, "timer", id, &buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Alarms struct {
			Columns []string `json:"columns"`
			Rows    [][]any  `json:"rows"`
		} `json:"alarms"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil || len(doc.Alarms.Columns) != 6 || doc.Alarms.Rows == nil || len(doc.Alarms.Rows) != 0 {
		t.Fatalf("export: %v\n%s", err, buf.String())
	}
	dir := t.TempDir()
	if _, err := rt.Backup(ctx, dir); err != nil {
		t.Fatal(err)
	}
	fresh := objecttest.New(t, object.Config{Clock: rt.Clock})
	fns := registerTimer(t, fresh.Runtime, rec)
	if _, err := fresh.Restore(ctx, dir, object.RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := fresh.KV(t, "timer", id); got["k"] != "v" {
		t.Fatalf("restored KV %v", got)
	}
	// the restored object takes an alarm (creating the table) and it fires
	at := rt.Clock.Now().Add(time.Minute)
	run(t, fns, "none", func(st *object.State) error { return st.SetAlarm(at) })
	rt.Clock.Advance(time.Minute)
	eventually(t, "the alarm", func() bool { return len(rec.firings()) == 1 })
}

// A file made before the alarm table was lazy has it, empty or not: it works as
// before, and an alarm in it survives a restart.
func TestObjectFileWithAlarmTableFromBefore(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	rec := &recorder{}
	ns := registerTimer(t, rt.Runtime, rec)
	run(t, ns, "old", func(st *object.State) error { return st.Storage().Put("k", []byte("v")) })
	id := ns.GetByName("old").ID()
	rt.EvictAll()
	db, err := sql.Open("sqlite", rt.DatabasePath("timer", id))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE _warren_alarms (name TEXT PRIMARY KEY, spec TEXT NOT NULL, payload BLOB, due INTEGER NOT NULL, scheduled INTEGER NOT NULL, retries INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID`,
		`CREATE INDEX _warren_alarms_due ON _warren_alarms (due)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	run(t, ns, "old", func(st *object.State) error {
		if _, ok, err := st.GetAlarm(); ok || err != nil {
			return errors.Join(errors.New("GetAlarm found one"), err)
		}
		return st.SetAlarm(st.Now().Add(time.Hour))
	})
	rt2 := rt.Restart(t, object.Config{})
	registerTimer(t, rt2.Runtime, rec)
	rt2.Clock.Advance(time.Hour)
	eventually(t, "the alarm", func() bool { return len(rec.firings()) == 1 })
}

// A wake entry is made durable before the commit that needs it, so a failed commit of
// an object's first alarm leaves an entry for an object without the alarm table. Its
// wake (after a restart: the entry in memory waits for the commit) finds nothing due
// and ends there, without failing (and retrying forever).
func TestWakeForNothingWithoutAlarmTable(t *testing.T) {
	fc := &failingCommitter{}
	logs := &logBuffer{}
	rt := objecttest.New(t, object.Config{Committer: fc, Logger: logs.logger()})
	rec := &recorder{}
	ns := registerTimer(t, rt.Runtime, rec)
	run(t, ns, "w", func(st *object.State) error { return st.Storage().Put("k", []byte("v")) })
	fc.fail.Store(true)
	err := ns.RunLocal(context.Background(), ns.GetByName("w"), func(ctx context.Context, obj *Timer) error {
		return obj.st.SetAlarm(obj.st.Now().Add(time.Minute))
	})
	fc.fail.Store(false)
	if err == nil {
		t.Fatal("the commit did not fail")
	}
	rt = rt.Restart(t, object.Config{Committer: fc, Logger: logs.logger()}) // the entry is on disk
	registerTimer(t, rt.Runtime, rec)
	rt.Clock.Advance(time.Minute)
	eventually(t, "the wake turn", func() bool { return rt.Stats().Turns > 0 })
	settle(t, rt)
	rt.Clock.Advance(time.Minute) // past any retry
	settle(t, rt)
	if n := len(rec.firings()); n != 0 {
		t.Fatalf("%d firings", n)
	}
	if strings.Contains(logs.String(), "wake turn failed") {
		t.Fatalf("the wake failed:\n%s", logs.String())
	}
}

// A point-in-time restore to before an object's first alarm gives it back a file
// without the alarm table (no alarm fires), and undoing the restore brings the table
// and its alarm back (it fires).
func TestPointInTimeRestoreAcrossTheAlarmTable(t *testing.T) {
	dir := t.TempDir()
	hist, err := history.New(history.Config{Dir: filepath.Join(dir, ".history"), SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hist.Close) // after the runtime's Close
	rt := objecttest.New(t, object.Config{DataDir: dir, History: hist})
	rec := &recorder{}
	ns := registerTimer(t, rt.Runtime, rec)
	ctx := context.Background()
	id := ns.GetByName("h").ID()
	run(t, ns, "h", func(st *object.State) error { return st.Storage().Put("k", []byte("v")) })
	bm, err := rt.CurrentBookmark(ctx, "timer", id)
	if err != nil {
		t.Fatal(err)
	}
	run(t, ns, "h", func(st *object.State) error { return st.SetAlarm(st.Now().Add(time.Minute)) })
	undo, err := rt.RestoreBookmark(ctx, "timer", id, bm)
	if err != nil {
		t.Fatal(err)
	}
	run(t, ns, "h", func(st *object.State) error {
		if _, ok, err := st.GetAlarm(); ok || err != nil {
			return errors.Join(errors.New("an alarm after the restore to before it"), err)
		}
		return nil
	})
	rt.Clock.Advance(time.Minute)
	settle(t, rt)
	if n := len(rec.firings()); n != 0 {
		t.Fatalf("%d firings of an alarm restored away", n)
	}
	if _, err := rt.RestoreBookmark(ctx, "timer", id, undo); err != nil {
		t.Fatal(err)
	}
	rt.Clock.Advance(time.Second)
	eventually(t, "the alarm brought back", func() bool { return len(rec.firings()) == 1 })
}
