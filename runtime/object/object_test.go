package object_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// counters registers the Counter namespace and its methods on rt.
type counterNS struct {
	ns        *object.Namespace[Counter]
	increment *object.Method[Counter, int64, int64]
	get       *object.MethodNoArg[Counter, int64]
}

func registerCounter(t testing.TB, rt *object.Runtime) counterNS {
	t.Helper()
	ns, err := object.Register(rt, "counter", NewCounter, object.Methods(increment, get))
	if err != nil {
		t.Fatal(err)
	}
	return counterNS{ns: ns, increment: increment, get: get}
}

func TestSingleInstance(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	c := registerCounter(t, rt.Runtime)
	stub := c.ns.GetByName("hits")
	var wg sync.WaitGroup
	var errs atomic.Int64
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if _, err := c.increment.Call(context.Background(), stub, 1); err != nil {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if errs.Load() != 0 {
		t.Fatalf("%d calls failed", errs.Load())
	}
	n, err := c.get.Call(context.Background(), stub)
	if err != nil || n != 10000 {
		t.Fatalf("counter = %d, %v; want 10000", n, err)
	}
	if got := rt.KV(t, "counter", stub.ID())["value"]; got != "10000" {
		t.Fatalf("stored value = %q, want 10000", got)
	}
	st := rt.Stats()
	if st.Commits >= st.CommittedTurns {
		t.Errorf("no group commit happened: %d commits for %d turns", st.Commits, st.CommittedTurns)
	}
}

// Ledger is an object whose turns can be told to fail after writing.
type Ledger struct {
	st      *object.State
	entries int
}

type write struct {
	Key   string
	Fail  string // "", "error" or "panic"
	Table bool   // also insert into a SQL table
}

func newLedger(ctx context.Context, st *object.State) (*Ledger, error) {
	if _, err := st.SQL().Exec(`CREATE TABLE IF NOT EXISTS rows (k TEXT PRIMARY KEY)`); err != nil {
		return nil, err
	}
	var n int
	if err := st.SQL().QueryRow(`SELECT count(*) FROM rows`).Scan(&n); err != nil {
		return nil, err
	}
	return &Ledger{st: st, entries: n}, nil
}

func (l *Ledger) Write(ctx context.Context, w write) (int, error) {
	if err := l.st.Storage().Put(w.Key, []byte("v")); err != nil {
		return 0, err
	}
	if _, err := l.st.SQL().Exec(`INSERT INTO rows (k) VALUES (?)`, w.Key); err != nil {
		return 0, err
	}
	l.entries++
	switch w.Fail {
	case "error":
		return 0, errors.New("refused")
	case "panic":
		panic("boom")
	}
	return l.entries, nil
}

var writeLedger = object.NewMethod("write", (*Ledger).Write)

func registerLedger(t testing.TB, rt *object.Runtime) (*object.Namespace[Ledger], *object.Method[Ledger, write, int]) {
	t.Helper()
	ns, err := object.Register(rt, "ledger", newLedger, object.Methods(writeLedger))
	if err != nil {
		t.Fatal(err)
	}
	return ns, writeLedger
}

func TestAtomicTurns(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	ns, wr := registerLedger(t, rt.Runtime)
	stub := ns.GetByName("a")
	ctx := context.Background()
	if n, err := wr.Call(ctx, stub, write{Key: "ok1"}); err != nil || n != 1 {
		t.Fatalf("write ok1 = %d, %v", n, err)
	}
	if _, err := wr.Call(ctx, stub, write{Key: "bad", Fail: "error"}); err == nil || err.Error() != "refused" {
		t.Fatalf("failing write: err = %v, want refused", err)
	}
	var pe *object.PanicError
	if _, err := wr.Call(ctx, stub, write{Key: "bad2", Fail: "panic"}); !errors.As(err, &pe) {
		t.Fatalf("panicking write: err = %v, want PanicError", err)
	}
	// The instance was reset: its in-memory count was rebuilt from storage.
	if n, err := wr.Call(ctx, stub, write{Key: "ok2"}); err != nil || n != 2 {
		t.Fatalf("write ok2 = %d, %v; want 2 (failed turns left nothing behind)", n, err)
	}
	if diff := cmp.Diff(map[string]string{"ok1": "v", "ok2": "v"}, rt.KV(t, "ledger", stub.ID())); diff != "" {
		t.Errorf("stored keys (-want +got):\n%s", diff)
	}
}

// failingCommitter fails commits while fail is set and records the order of events.
type failingCommitter struct {
	fail      atomic.Bool
	committed atomic.Int64
}

func (f *failingCommitter) Commit(_ context.Context, _ string, _ object.ID, _ int, commit func() error) error {
	if f.fail.Load() {
		return errors.New("injected commit failure")
	}
	if err := commit(); err != nil {
		return err
	}
	f.committed.Add(1)
	return nil
}

// Notifier sends a message through OnCommit, the hook WebSocket sends use.
type Notifier struct {
	st   *object.State
	sent *[]string
	mu   *sync.Mutex
	log  func(string)
}

func TestOutputGateWithCommitFailure(t *testing.T) {
	fc := &failingCommitter{}
	rt := objecttest.New(t, object.Config{Committer: fc})
	var mu sync.Mutex
	var sent []string
	var commitsAtSend []int64
	send := object.NewMethod("send", func(n *Notifier, ctx context.Context, msg string) (string, error) {
		if err := n.st.Storage().Put("last", []byte(msg)); err != nil {
			return "", err
		}
		n.st.OnCommit(func() {
			mu.Lock()
			sent = append(sent, msg)
			commitsAtSend = append(commitsAtSend, fc.committed.Load())
			mu.Unlock()
		})
		return "ack " + msg, nil
	})
	ns, err := object.Register(rt.Runtime, "notifier", func(ctx context.Context, st *object.State) (*Notifier, error) {
		return &Notifier{st: st}, nil
	}, object.Methods(send))
	if err != nil {
		t.Fatal(err)
	}
	stub := ns.GetByName("x")
	ctx := context.Background()
	if got, err := send.Call(ctx, stub, "one"); err != nil || got != "ack one" {
		t.Fatalf("send one = %q, %v", got, err)
	}
	fc.fail.Store(true)
	got, err := send.Call(ctx, stub, "two")
	if !errors.Is(err, object.ErrRetryable) || got != "" {
		t.Fatalf("send two with failing commit = %q, %v; want no result and ErrRetryable", got, err)
	}
	fc.fail.Store(false)
	if got, err := send.Call(ctx, stub, "three"); err != nil || got != "ack three" {
		t.Fatalf("send three = %q, %v", got, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"one", "three"}, sent); diff != "" {
		t.Errorf("messages released (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{1, 2}, commitsAtSend); diff != "" {
		t.Errorf("commits completed when each message was released (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"last": "three"}, rt.KV(t, "notifier", stub.ID())); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
}

// blockingCommitter holds every commit until release is closed.
type blockingCommitter struct{ release chan struct{} }

func (b blockingCommitter) Commit(_ context.Context, _ string, _ object.ID, _ int, commit func() error) error {
	<-b.release
	return commit()
}

func TestResultWaitsForCommit(t *testing.T) {
	bc := blockingCommitter{release: make(chan struct{})}
	rt := objecttest.New(t, object.Config{Committer: bc})
	c := registerCounter(t, rt.Runtime)
	done := make(chan int64, 1)
	go func() {
		n, _ := c.increment.Call(context.Background(), c.ns.GetByName("g"), 1)
		done <- n
	}()
	select {
	case n := <-done:
		t.Fatalf("result %d delivered before its commit", n)
	case <-time.After(100 * time.Millisecond):
	}
	close(bc.release)
	if n := <-done; n != 1 {
		t.Fatalf("result = %d, want 1", n)
	}
}

func TestEvictionPreservesState(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	c := registerCounter(t, rt.Runtime)
	ctx := context.Background()
	stub := c.ns.GetByName("e")
	for range 5 {
		if _, err := c.increment.Call(ctx, stub, 2); err != nil {
			t.Fatal(err)
		}
	}
	before := rt.Stats()
	if before.Objects != 1 || before.OpenDatabases != 1 {
		t.Fatalf("before eviction: %+v", before)
	}
	if n := rt.EvictAll(); n != 1 {
		t.Fatalf("evicted %d objects, want 1", n)
	}
	if st := rt.Stats(); st.Objects != 0 || st.OpenDatabases != 0 {
		t.Fatalf("after eviction: %+v", st)
	}
	n, err := c.get.Call(ctx, stub)
	if err != nil || n != 10 {
		t.Fatalf("after reactivation: %d, %v; want 10", n, err)
	}
	if got := rt.Stats().Activations; got != before.Activations+1 {
		t.Fatalf("activations = %d, want %d (the constructor re-ran)", got, before.Activations+1)
	}
}

func TestIdleTimeoutEvicts(t *testing.T) {
	rt := objecttest.New(t, object.Config{IdleTimeout: 10 * time.Second})
	c := registerCounter(t, rt.Runtime)
	if _, err := c.increment.Call(context.Background(), c.ns.GetByName("i"), 1); err != nil {
		t.Fatal(err)
	}
	rt.WaitIdle()
	rt.Clock.Advance(5 * time.Second)
	if rt.Stats().Objects != 1 {
		t.Fatal("evicted before its idle timeout")
	}
	rt.Clock.Advance(10 * time.Second)
	if st := rt.Stats(); st.Objects != 0 || st.Evictions != 1 {
		t.Fatalf("after the idle timeout: %+v", st)
	}
}

func TestLRUBoundsOpenDatabases(t *testing.T) {
	rt := objecttest.New(t, object.Config{MaxOpen: 4})
	c := registerCounter(t, rt.Runtime)
	for i := range 20 {
		if _, err := c.increment.Call(context.Background(), c.ns.GetByName(fmt.Sprint(i)), 1); err != nil {
			t.Fatal(err)
		}
		if open := rt.Stats().OpenDatabases; open > 4 {
			t.Fatalf("%d open databases after %d objects, max 4", open, i+1)
		}
	}
	for i := range 20 {
		if n, err := c.get.Call(context.Background(), c.ns.GetByName(fmt.Sprint(i))); err != nil || n != 1 {
			t.Fatalf("object %d: %d, %v", i, n, err)
		}
	}
}

func TestIDs(t *testing.T) {
	dir := t.TempDir()
	rt := objecttest.New(t, object.Config{DataDir: dir})
	a := registerCounter(t, rt.Runtime)
	other, err := object.Register(rt.Runtime, "other", NewCounter)
	if err != nil {
		t.Fatal(err)
	}
	id := a.ns.IDFromName("room")
	if id.String() != a.ns.IDFromName("room").String() {
		t.Fatal("IDFromName is not deterministic")
	}
	if id.Equal(other.IDFromName("room")) {
		t.Fatal("the same name gives the same ID in two namespaces")
	}
	if name, ok := id.Name(); !ok || name != "room" {
		t.Fatalf("Name() = %q, %v", name, ok)
	}
	parsed, err := a.ns.IDFromString(id.String())
	if err != nil || !parsed.Equal(id) {
		t.Fatalf("IDFromString(%s) = %v, %v", id, parsed, err)
	}
	if _, err := other.IDFromString(id.String()); !errors.Is(err, object.ErrInvalidID) {
		t.Fatalf("IDFromString of another namespace's ID: %v, want ErrInvalidID", err)
	}
	for _, bad := range []string{"", "xyz", strings.Repeat("0", 64), strings.ToUpper(id.String()), id.String()[:63], id.String() + "0"} {
		if _, err := a.ns.IDFromString(bad); !errors.Is(err, object.ErrInvalidID) {
			t.Errorf("IDFromString(%q) = %v, want ErrInvalidID", bad, err)
		}
	}
	u1, u2 := a.ns.NewUniqueID(), a.ns.NewUniqueID()
	if u1.Equal(u2) {
		t.Fatal("NewUniqueID repeated")
	}
	if _, err := a.ns.IDFromString(u1.String()); err != nil {
		t.Fatalf("a unique ID does not parse: %v", err)
	}
	want := id.String()
	rt2 := rt.Restart(t, object.Config{})
	b := registerCounter(t, rt2.Runtime)
	if got := b.ns.IDFromName("room").String(); got != want {
		t.Fatalf("IDFromName changed across restarts: %s then %s", want, got)
	}
}

// Named reports the name its State knows.
type Named struct{ st *object.State }

func TestObjectKnowsItsName(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	name := object.NewMethod("name", func(n *Named, ctx context.Context, _ struct{}) (string, error) {
		s, _ := n.st.ID().Name()
		return s, nil
	})
	ns, err := object.Register(rt.Runtime, "named", func(ctx context.Context, st *object.State) (*Named, error) { return &Named{st}, nil }, object.Methods(name))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := ns.IDFromName("général/../x")
	if got, err := name.Call(ctx, ns.Get(id), struct{}{}); err != nil || got != "général/../x" {
		t.Fatalf("by name: %q, %v", got, err)
	}
	rt.EvictAll()
	byString, _ := ns.IDFromString(id.String())
	if got, err := name.Call(ctx, ns.Get(byString), struct{}{}); err != nil || got != "général/../x" {
		t.Fatalf("by ID after eviction: %q, %v", got, err)
	}
	if got, err := name.Call(ctx, ns.Get(ns.NewUniqueID()), struct{}{}); err != nil || got != "" {
		t.Fatalf("unique ID: %q, %v; want no name", got, err)
	}
}

func TestDataDirLock(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	if _, err := object.New(object.Config{DataDir: rt.Dir}); !errors.Is(err, object.ErrLocked) {
		t.Fatalf("second runtime on the same data dir: %v, want ErrLocked", err)
	}
	rt.Close()
	rt2, err := object.New(object.Config{DataDir: rt.Dir})
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	rt2.Close()
}

// Slow blocks its turns until released.
type Slow struct{}

func TestOverloaded(t *testing.T) {
	rt := objecttest.New(t, object.Config{MaxQueue: 8})
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	wait := object.NewMethod("wait", func(s *Slow, ctx context.Context, _ int) (int, error) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release
		return 0, nil
	})
	ns, err := object.Register(rt.Runtime, "slow", func(ctx context.Context, st *object.State) (*Slow, error) { return &Slow{}, nil }, object.Methods(wait))
	if err != nil {
		t.Fatal(err)
	}
	stub := ns.GetByName("s")
	var wg sync.WaitGroup
	results := make(chan error, 100)
	call := func() {
		defer wg.Done()
		_, err := wait.Call(context.Background(), stub, 0)
		results <- err
	}
	wg.Add(1)
	go call()
	<-started
	for range 20 {
		wg.Add(1)
		go call()
	}
	deadline := time.Now().Add(5 * time.Second)
	for rt.Stats().Overloaded < 12 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(results)
	var ok, overloaded int
	for err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, object.ErrOverloaded):
			overloaded++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 9 || overloaded != 12 {
		t.Fatalf("ok=%d overloaded=%d; want 9 and 12 (1 running + 8 queued)", ok, overloaded)
	}
}

func TestCallCycleIsRefused(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	var ns *object.Namespace[Slow]
	var self *object.Method[Slow, int, int]
	self = object.NewMethod("self", func(s *Slow, ctx context.Context, depth int) (int, error) {
		return self.Call(ctx, ns.GetByName("a"), depth+1)
	})
	ns, err := object.Register(rt.Runtime, "loop", func(ctx context.Context, st *object.State) (*Slow, error) { return &Slow{}, nil }, object.Methods(self))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := self.Call(context.Background(), ns.GetByName("a"), 0); !errors.Is(err, object.ErrDeadlock) {
		t.Fatalf("self call: %v, want ErrDeadlock", err)
	}
}

func TestListSemantics(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	ns, err := object.Register(rt.Runtime, "kv", func(ctx context.Context, st *object.State) (*Named, error) { return &Named{st}, nil })
	if err != nil {
		t.Fatal(err)
	}
	stub := ns.GetByName("list")
	ctx := context.Background()
	keys := []string{"a", "a/1", "a/2", "a/3", "b", "b/1", "c", "\xff", "\xff\xff"}
	err = ns.RunLocal(ctx, stub, func(ctx context.Context, n *Named) error {
		for _, k := range keys {
			if err := n.st.Storage().Put(k, []byte("v"+k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts object.ListOptions
		want []string
	}{
		{"all", object.ListOptions{}, keys},
		{"start inclusive", object.ListOptions{Start: "b"}, []string{"b", "b/1", "c", "\xff", "\xff\xff"}},
		{"startAfter exclusive", object.ListOptions{StartAfter: "b"}, []string{"b/1", "c", "\xff", "\xff\xff"}},
		{"end exclusive", object.ListOptions{End: "b"}, []string{"a", "a/1", "a/2", "a/3"}},
		{"start and end", object.ListOptions{Start: "a/2", End: "b/1"}, []string{"a/2", "a/3", "b"}},
		{"prefix", object.ListOptions{Prefix: "a/"}, []string{"a/1", "a/2", "a/3"}},
		{"prefix of 0xff", object.ListOptions{Prefix: "\xff"}, []string{"\xff", "\xff\xff"}},
		{"prefix and start", object.ListOptions{Prefix: "a/", Start: "a/2"}, []string{"a/2", "a/3"}},
		{"limit", object.ListOptions{Limit: 2}, []string{"a", "a/1"}},
		{"reverse", object.ListOptions{Reverse: true, Limit: 3}, []string{"\xff\xff", "\xff", "c"}},
		{"reverse keeps start and end", object.ListOptions{Start: "a/1", End: "b", Reverse: true}, []string{"a/3", "a/2", "a/1"}},
		{"reverse prefix limit", object.ListOptions{Prefix: "a/", Reverse: true, Limit: 2}, []string{"a/3", "a/2"}},
		{"empty range", object.ListOptions{Start: "c", End: "b"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := ns.RunLocal(ctx, stub, func(ctx context.Context, n *Named) error {
				entries, err := n.st.Storage().List(tc.opts)
				for _, e := range entries {
					if string(e.Value) != "v"+e.Key {
						t.Errorf("value of %q = %q", e.Key, e.Value)
					}
					got = append(got, e.Key)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
		})
	}
	err = ns.RunLocal(ctx, stub, func(ctx context.Context, n *Named) error {
		_, err := n.st.Storage().List(object.ListOptions{Start: "a", StartAfter: "a"})
		if err == nil {
			t.Error("Start with StartAfter: no error")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestKVAndSQL(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	ns, err := object.Register(rt.Runtime, "store", func(ctx context.Context, st *object.State) (*Named, error) { return &Named{st}, nil })
	if err != nil {
		t.Fatal(err)
	}
	stub := ns.GetByName("s")
	ctx := context.Background()
	run := func(f func(st *object.State) error) error {
		return ns.RunLocal(ctx, stub, func(ctx context.Context, n *Named) error { return f(n.st) })
	}
	err = run(func(st *object.State) error {
		s := st.Storage()
		if err := s.PutMany(map[string][]byte{"x": []byte("1"), "y": []byte("2"), "z": {}}); err != nil {
			return err
		}
		got, err := s.GetMany([]string{"x", "z", "missing"})
		if err != nil {
			return err
		}
		if diff := cmp.Diff(map[string][]byte{"x": []byte("1"), "z": {}}, got); diff != "" {
			t.Errorf("GetMany (-want +got):\n%s", diff)
		}
		if ok, err := s.Delete("x"); !ok || err != nil {
			t.Errorf("Delete(x) = %v, %v", ok, err)
		}
		if n, err := s.DeleteMany([]string{"x", "y", "nope"}); n != 1 || err != nil {
			t.Errorf("DeleteMany = %d, %v; want 1", n, err)
		}
		if err := s.Put(strings.Repeat("k", object.MaxKeySize+1), nil); !errors.Is(err, object.ErrTooLarge) {
			t.Errorf("oversized key: %v", err)
		}
		q := st.SQL()
		if _, err := q.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
			return err
		}
		res, err := q.Exec(`INSERT INTO t (v) VALUES (?), (?), (?)`, "a", "b", "c")
		if err != nil || res.RowsWritten != 3 || res.LastInsertID != 3 {
			t.Errorf("insert: %+v, %v", res, err)
		}
		rows, err := q.Query(`SELECT v FROM t WHERE id > ? ORDER BY id`, 1)
		if err != nil {
			return err
		}
		var vs []string
		for rows.Next() {
			var v string
			rows.Scan(&v)
			vs = append(vs, v)
		}
		if diff := cmp.Diff([]string{"b", "c"}, vs); diff != "" || rows.RowsRead() != 2 {
			t.Errorf("query: %v rows read %d", vs, rows.RowsRead())
		}
		if size, err := q.DatabaseSize(); err != nil || size <= 0 {
			t.Errorf("DatabaseSize = %d, %v", size, err)
		}
		for _, bad := range []string{
			"BEGIN", "COMMIT", "SAVEPOINT x", "ROLLBACK", "SELECT * FROM _warren_kv",
			"select * from _WARREN_kv", `DELETE FROM "_warren_kv"`, "DROP TABLE _warren_meta",
			"ATTACH DATABASE 'x.db' AS x", "PRAGMA journal_mode=DELETE", "PRAGMA writable_schema=ON",
			"PRAGMA synchronous=OFF", "SELECT load_extension('x')",
		} {
			if _, err := q.Exec(bad); !errors.Is(err, object.ErrSQLNotAllowed) {
				t.Errorf("Exec(%q) = %v, want ErrSQLNotAllowed", bad, err)
			}
		}
		// A view or trigger may be created, but reaching a reserved table through it is refused.
		if _, err := q.Exec("CREATE VIEW peek AS SELECT * FROM _warren_kv"); err != nil {
			return err
		}
		if _, err := q.Exec("SELECT * FROM peek"); !errors.Is(err, object.ErrSQLNotAllowed) {
			t.Errorf("reading a view of a reserved table: %v", err)
		}
		if _, err := q.Exec("CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM _warren_kv; END"); err != nil {
			return err
		}
		if _, err := q.Exec("INSERT INTO t (v) VALUES ('d')"); !errors.Is(err, object.ErrSQLNotAllowed) {
			t.Errorf("trigger writing a reserved table: %v", err)
		}
		if _, err := q.Exec("DROP TRIGGER tr; DROP VIEW peek"); err != nil {
			return err
		}
		if _, ok, _ := s.Get("z"); !ok {
			t.Error("key z lost")
		}
		if _, err := q.Exec("PRAGMA table_info(t)"); err != nil {
			t.Errorf("PRAGMA table_info: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// DeleteAll wipes KV and SQL.
	err = run(func(st *object.State) error {
		if err := st.Storage().DeleteAll(); err != nil {
			return err
		}
		if e, err := st.Storage().List(object.ListOptions{}); err != nil || len(e) != 0 {
			t.Errorf("after DeleteAll: %v, %v", e, err)
		}
		if _, err := st.SQL().Exec(`SELECT * FROM t`); err == nil {
			t.Error("table t survived DeleteAll")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := (&object.State{}).Storage().Get("x"); !errors.Is(err, object.ErrNotInTurn) {
		t.Errorf("storage outside a turn: %v", err)
	}
}

// Page serves HTTP from an object.
type Page struct {
	st    *object.State
	count int
}

func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.count++
	if err := p.st.Storage().Put("count", []byte(fmt.Sprint(p.count))); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	fmt.Fprintf(w, "%s %d", r.URL.Path, p.count)
}

func TestServeHTTP(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	ns, err := object.Register(rt.Runtime, "page", func(ctx context.Context, st *object.State) (*Page, error) { return &Page{st: st}, nil })
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		rec := httptest.NewRecorder()
		ns.ServeHTTP(rec, httptest.NewRequest("GET", "/p", nil), ns.GetByName("p"))
		if want := fmt.Sprintf("/p %d", i); rec.Code != 200 || rec.Body.String() != want {
			t.Fatalf("response %d %q, want %q", rec.Code, rec.Body.String(), want)
		}
	}
}

func TestGoContinuation(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	done := make(chan string, 1)
	start := object.NewMethod("start", func(n *Named, ctx context.Context, _ struct{}) (bool, error) {
		n.st.Go(func(ctx context.Context) func(context.Context) error {
			result := "fetched" // slow work happens here, outside the turn
			return func(ctx context.Context) error {
				if err := n.st.Storage().Put("result", []byte(result)); err != nil {
					return err
				}
				n.st.OnCommit(func() { done <- result })
				return nil
			}
		})
		return true, nil
	})
	ns, err := object.Register(rt.Runtime, "async", func(ctx context.Context, st *object.State) (*Named, error) { return &Named{st}, nil }, object.Methods(start))
	if err != nil {
		t.Fatal(err)
	}
	stub := ns.GetByName("a")
	if _, err := start.Call(context.Background(), stub, struct{}{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("continuation never ran")
	}
	if got := rt.KV(t, "async", stub.ID())["result"]; got != "fetched" {
		t.Fatalf("stored %q", got)
	}
}
