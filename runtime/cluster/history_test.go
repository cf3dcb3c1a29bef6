package cluster

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/warrenhq/warren/runtime/admin"
	"github.com/warrenhq/warren/runtime/object"
)

// wallClock is a wall clock the test sets: the commit times the nodes record.
type wallClock struct {
	mu  sync.Mutex
	now time.Time
}

func newWallClock() *wallClock { return &wallClock{now: time.Unix(1_800_000_000, 0)} }

func (c *wallClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *wallClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// upTo is the ledger's entries after turns 0..k.
func upTo(k int) []int {
	out := make([]int, k+1)
	for i := range out {
		out[i] = i
	}
	return out
}

// integrityOK runs PRAGMA integrity_check on a database file, read-only.
func integrityOK(t testing.TB, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check of %s: %q, %v", path, res, err)
	}
}

// 1,000 numbered turns, one a second by the recorded commit times, snapshots every
// 50 records: the state at 20 random moments is restored exactly (the turns up to
// that moment, no more), from the owner and from a node that does not own the object
// (its restore is sent to the owner); each restored file passes integrity_check; a
// restore is undone by its undo bookmark; a new owner's activation replays only
// what follows the latest snapshot, not the history kept.
func TestHistoryRestoreToMoments(t *testing.T) {
	c := sharedCluster(t)
	wall := newWallClock()
	cfg := func(name string) Config {
		cfg := testConfig(name)
		cfg.SnapshotRecords, cfg.Now = 50, wall.Now
		return cfg
	}
	a := startRuntime(t, c, 0, cfg("hist-a"))
	b := startRuntime(t, c, 1, cfg("hist-b"))
	ctx := testContext(t)
	const turns = 1000
	startTurns := time.Now()
	t0 := wall.Now()
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	for i := range turns {
		wall.Set(at(i))
		if _, err := a.add(ctx, "h", i); err != nil {
			t.Fatalf("turn %d: %v", i, err)
		}
	}
	t.Logf("%d turns in %v", turns, time.Since(startTurns))
	wall.Set(at(turns + 100)) // restores commit after every moment asked for
	id := a.ns.IDFromName("h")
	key := objectKey("ledger", id.String())
	snaps := 0
	l := a.n.objectLog(key)
	tail, _, err := l.tail(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.replay(ctx, 1, tail, func(_ uint64, data []byte) error {
		r, err := decodeRecord(data)
		if r.kind == kindSnap {
			snaps++
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if snaps < turns/50-2 {
		t.Fatalf("%d snapshots in the log after %d turns with SnapshotRecords 50: the history was rolled up", snaps, turns)
	}
	if _, err := a.rt.BookmarkForTime(ctx, "ledger", id, t0.Add(-time.Second)); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("bookmark before the first commit: %v, want ErrNotFound", err)
	}
	used, err := b.rt.HistoryUsage("ledger", id)
	if err != nil || used <= 0 {
		t.Fatalf("history usage: %d, %v", used, err)
	}

	startRestores := time.Now()
	defer func() { t.Logf("restores in %v", time.Since(startRestores)) }()
	rng := rand.New(rand.NewPCG(21, 3))
	var undo string
	var last, previous int
	for round := range 20 {
		k := rng.IntN(turns)
		moment := at(k).Add(time.Duration(rng.Int64N(int64(time.Second))))
		via := a
		if round%2 == 1 {
			via = b // not the owner: the restore is sent to it
		}
		bm, err := via.rt.BookmarkForTime(ctx, "ledger", id, moment)
		if err != nil {
			t.Fatalf("round %d: bookmark for turn %d: %v", round, k, err)
		}
		undo, err = via.rt.RestoreBookmark(ctx, "ledger", id, bm)
		if err != nil {
			t.Fatalf("round %d: restore to turn %d via %s: %v", round, k, via.n.Name(), err)
		}
		if got := b.entries(t, "h"); !slices.Equal(got, upTo(k)) {
			t.Fatalf("round %d: restored to turn %d: %d entries, last %v", round, k, len(got), got[max(len(got)-1, 0):])
		}
		integrityOK(t, a.rt.DatabasePath("ledger", id))
		previous, last = last, k
	}
	// The last restore undone: the state before it (the previous round's) is back,
	// and a restore to the undo bookmark is itself undoable.
	before, err := a.rt.CurrentBookmark(ctx, "ledger", id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.rt.RestoreBookmark(ctx, "ledger", id, undo); err != nil {
		t.Fatal(err)
	}
	if got := a.entries(t, "h"); !slices.Equal(got, upTo(previous)) {
		t.Fatalf("undo of the last restore: %d entries, want the %d of the restore before", len(got), previous+1)
	}
	if _, err := a.rt.RestoreBookmark(ctx, "ledger", id, before); err != nil {
		t.Fatal(err)
	}
	if got := a.entries(t, "h"); !slices.Equal(got, upTo(last)) {
		t.Fatalf("undo of the undo: %d entries, want %d", len(got), last+1)
	}
	// Malformed and foreign bookmarks change nothing.
	if _, err := a.rt.RestoreBookmark(ctx, "ledger", id, "00"); !errors.Is(err, object.ErrInvalidArgument) {
		t.Fatalf("malformed bookmark: %v", err)
	}
	other := a.ns.IDFromName("other")
	if _, err := a.add(ctx, "other", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := a.rt.RestoreBookmark(ctx, "ledger", other, before); !errors.Is(err, object.ErrInvalidArgument) {
		t.Fatalf("another object's bookmark: %v", err)
	}

	// A new owner restores from the latest snapshot: it replays at most
	// SnapshotRecords records and a few EPOCH records, not the history kept.
	a.rt.Close()
	a.n.Close()
	replayed := b.n.replayed.Load()
	if got := b.entries(t, "h"); !slices.Equal(got, upTo(last)) {
		t.Fatalf("after failover: %d entries, want %d", len(got), last+1)
	}
	if n := b.n.replayed.Load() - replayed; n > 60 {
		t.Fatalf("the new owner's activation read %d records: it replayed the history kept", n)
	}
}

// joinAbrupt is join, returning a kill that closes the node's connection without
// leaving (its lease runs out, as a process killed with SIGKILL leaves it).
func joinAbrupt(t testing.TB, c *testCluster, i int, cfg Config) (*Node, func()) {
	t.Helper()
	nc, err := c.servers[i%len(c.servers)].Connect()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n, err := Join(ctx, nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(); nc.Close() })
	return n, func() {
		n.skipRenew.Store(true)
		nc.Close()
	}
}

// The owner is lost abruptly in the middle of a stream of turns (its connection cut,
// no goodbye, a turn in flight): after its lease ran out, another node takes the
// object over, and the state at the moment of the last acknowledged turn is
// restorable exactly, on the new owner; the log's history is consistent (every
// record decodes, epochs never go back, times never go back).
func TestHistoryRestoreAfterOwnerLoss(t *testing.T) {
	t.Parallel() // waits for a lease to run out, as TestRuntimeZombieCommitRefused does
	c := sharedCluster(t)
	wall := newWallClock()
	cfg := func(name string) Config {
		cfg := testConfig(name)
		cfg.SnapshotRecords, cfg.Now = 20, wall.Now
		return cfg
	}
	na, kill := joinAbrupt(t, c, 2, cfg("hist-kill-a"))
	a := attachRuntime(t, na)
	b := startRuntime(t, c, 0, cfg("hist-kill-b"))
	t0 := wall.Now()
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	var acked atomic.Int64
	acked.Store(-1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for i := 0; ; i++ {
			wall.Set(at(i))
			if _, err := a.add(ctx, "k", i); err != nil {
				return
			}
			acked.Store(int64(i))
		}
	}()
	waitFor(t, 20*time.Second, "60 acknowledged turns", func() bool { return acked.Load() >= 60 })
	kill()
	<-done
	last := int(acked.Load())
	ctx := testContext(t)
	id := b.ns.IDFromName("k")
	var cur []int
	waitFor(t, 20*time.Second, "the object served by the other node", func() bool {
		got, err := ledgerEntries.Call(ctx, b.ns.GetByName("k"))
		cur = got
		return err == nil
	})
	if len(cur) < last+1 || !slices.Equal(cur[:last+1], upTo(last)) {
		t.Fatalf("after the owner's loss: %d entries, want the %d acknowledged first", len(cur), last+1)
	}
	bm, err := b.rt.BookmarkForTime(ctx, "ledger", id, at(last).Add(time.Second/2))
	if err != nil {
		t.Fatal(err)
	}
	wall.Set(at(last + 100))
	if _, err := b.rt.RestoreBookmark(ctx, "ledger", id, bm); err != nil {
		t.Fatal(err)
	}
	if got := b.entries(t, "k"); !slices.Equal(got, upTo(last)) {
		t.Fatalf("restored to the last acknowledged turn %d: %d entries", last, len(got))
	}
	integrityOK(t, b.rt.DatabasePath("ledger", id))
	l := b.n.objectLog(objectKey("ledger", id.String()))
	tail, _, err := l.tail(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var epoch uint64
	var when int64
	if err := l.replay(ctx, 1, tail, func(seq uint64, data []byte) error {
		r, err := decodeRecord(data)
		if err != nil {
			return err
		}
		if r.epoch < epoch || r.at < when {
			t.Errorf("record %d: epoch %d after %d, time %d after %d", seq, r.epoch, epoch, r.at, when)
		}
		epoch, when = r.epoch, r.at
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Retention: a purge removes the records before the latest snapshot committed at or
// before the cutoff, and the blobs only they pointed at (snapshots, big batches);
// the later ones stay, and every moment from the cutoff on is restorable; a moment
// or bookmark before it fails with ErrNotFound. A new owner restores as before.
func TestHistoryPurge(t *testing.T) {
	c := sharedCluster(t)
	wall := newWallClock()
	cfg := testConfig("hist-purge")
	cfg.Now = wall.Now
	n := join(t, c, 1, cfg)
	n.maxRecord = smallRecord
	t0 := wall.Now()
	hour := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	a := activate(t, n, "purge", "obj")
	mustExec(t, a.db, `CREATE TABLE kv (k INTEGER PRIMARY KEY, v BLOB NOT NULL)`)
	put := func(h int, q string) {
		t.Helper()
		wall.Set(hour(float64(h)))
		if err := a.commitSQL(t, q); err != nil {
			t.Fatal(err)
		}
	}
	snapshot := func(h int) string {
		t.Helper()
		wall.Set(hour(float64(h)))
		if err := a.obj.Snapshot(testContext(t)); err != nil {
			t.Fatal(err)
		}
		return a.obj.snap.name
	}
	ctx := testContext(t)
	put(1, `INSERT INTO kv VALUES (1, 'one')`)
	early, err := n.CurrentBookmark(ctx, "purge", "obj")
	if err != nil {
		t.Fatal(err)
	}
	put(2, `INSERT INTO kv VALUES (2, 'two')`)
	put(3, `INSERT INTO kv VALUES (3, randomblob(100000))`) // a BLOB record
	bigBatch := a.obj.batchBlobs[0]
	snap1 := snapshot(4)
	put(5, `INSERT INTO kv VALUES (5, 'five')`)
	put(6, `INSERT INTO kv VALUES (6, 'six')`)
	snap2 := snapshot(7)
	put(8, `INSERT INTO kv VALUES (8, 'eight')`)
	put(9, `INSERT INTO kv VALUES (9, 'nine')`)
	want := committedImage(t, a.path)
	a.close(t)

	blobGone := func(name string) bool {
		_, err := n.a.snaps.GetInfo(ctx, name)
		return errors.Is(err, jetstream.ErrObjectNotFound)
	}
	count := func(h float64) int {
		t.Helper()
		bm, err := n.BookmarkForTime(ctx, "purge", "obj", hour(h))
		if err != nil {
			t.Fatalf("bookmark at %vh: %v", h, err)
		}
		dst := filepath.Join(t.TempDir(), "at.sqlite")
		if err := n.BuildBookmark(ctx, "purge", "obj", bm, dst); err != nil {
			t.Fatalf("state at %vh: %v", h, err)
		}
		db := openObjectDB(t, dst)
		defer db.Close()
		var k int
		if err := db.QueryRow(`SELECT count(*) FROM kv`).Scan(&k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	if got := count(2.5); got != 2 {
		t.Fatalf("before any purge, the state at 2.5h has %d rows, want 2", got)
	}
	// Usage: every record's bytes and the blobs they point at, read record by record.
	l := n.objectLog(objectKey("purge", "obj"))
	tail, _, err := l.tail(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var usage int64
	if err := l.replay(ctx, 1, tail, func(_ uint64, data []byte) error {
		r, err := decodeRecord(data)
		usage += int64(len(data))
		if r.kind == kindBlob || r.kind == kindSnap {
			usage += int64(r.blob.size)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if used, err := n.HistoryUsage(ctx, "purge", "obj"); err != nil || used != usage || usage < 100000 {
		t.Fatalf("history usage %d (%v), want %d", used, err, usage)
	}
	// Cutoff 5.5h: the state then starts from snapshot 1; everything before it goes.
	purged, err := n.PurgeHistory(ctx, "purge", "obj", hour(5.5))
	if err != nil || purged < 4 {
		t.Fatalf("purge at 5.5h: %d records, %v", purged, err)
	}
	waitFor(t, 5*time.Second, "the purged big batch's blob deleted", func() bool { return blobGone(bigBatch) })
	if blobGone(snap1) || blobGone(snap2) {
		t.Fatal("a snapshot still in the history was deleted")
	}
	if got := count(5.5); got != 4 {
		t.Fatalf("state at 5.5h: %d rows, want 4", got)
	}
	if got := count(4); got != 3 {
		t.Fatalf("state at the kept snapshot (4h): %d rows, want 3", got)
	}
	if _, err := n.BookmarkForTime(ctx, "purge", "obj", hour(2.5)); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("bookmark for a purged moment: %v, want ErrNotFound", err)
	}
	if err := n.BuildBookmark(ctx, "purge", "obj", early, filepath.Join(t.TempDir(), "x.sqlite")); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("restore to a purged bookmark: %v, want ErrNotFound", err)
	}
	// Cutoff 8.5h: snapshot 2 is the start; snapshot 1 and what follows it go.
	if _, err := n.PurgeHistory(ctx, "purge", "obj", hour(8.5)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the purged snapshot's blob deleted", func() bool { return blobGone(snap1) })
	if blobGone(snap2) {
		t.Fatal("the snapshot the history starts from was deleted")
	}
	if got := count(8.5); got != 6 {
		t.Fatalf("state at 8.5h: %d rows, want 6", got)
	}
	if _, err := n.BookmarkForTime(ctx, "purge", "obj", hour(5.5)); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("bookmark for a purged moment: %v, want ErrNotFound", err)
	}
	// A new owner's restore (no warm file) still gets the latest state.
	n.mu.Lock()
	delete(n.warm, objectKey("purge", "obj"))
	n.mu.Unlock()
	path := filepath.Join(t.TempDir(), "again.sqlite")
	obj, err := n.Open(ctx, "purge", "obj", path)
	if err != nil {
		t.Fatal(err)
	}
	obj.Close()
	got, _ := os.ReadFile(path)
	if !slices.Equal(got, want) {
		t.Fatal("restore after the purges differs from the committed state")
	}
}

// A log written before records carried times and bases (version 1, rolled up at its
// snapshot) still restores: the new owner reads it from its start, and the records
// it appends after it (version 2) name that start, so later restores find it.
func TestHistoryVersion1Log(t *testing.T) {
	c := sharedCluster(t)
	n := join(t, c, 0, testConfig("hist-v1"))
	ctx := testContext(t)
	// The old owner's records: its EPOCH, then its first commit's whole image.
	src := filepath.Join(t.TempDir(), "old.sqlite")
	db := openObjectDB(t, src)
	mustExec(t, db, `CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)`)
	mustExec(t, db, `INSERT INTO kv VALUES (1, 'old')`)
	db.Close()
	if done, err := checkpointTruncate(ctx, src); err != nil || !done {
		t.Fatal(done, err)
	}
	var cur walCursor
	image, err := cur.fullImage(src)
	if err != nil {
		t.Fatal(err)
	}
	l := n.objectLog(objectKey("v1", "obj"))
	s1, err := l.append(ctx, toV1(encodeEpoch(1, "old", meta{})), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := l.append(ctx, toV1(encodeFrames(1, image, meta{})), s1, false)
	if err != nil {
		t.Fatal(err)
	}
	a := activate(t, n, "v1", "obj")
	if a.obj.base != s2 {
		t.Fatalf("the restore of a version 1 log starts at %d, want its FRAMES record %d", a.obj.base, s2)
	}
	if err := a.commitSQL(t, `INSERT INTO kv VALUES (2, 'new')`); err != nil {
		t.Fatal(err)
	}
	a.close(t)
	n.mu.Lock()
	delete(n.warm, objectKey("v1", "obj"))
	n.mu.Unlock()
	b := activate(t, n, "v1", "obj")
	defer b.close(t)
	var k int
	if err := b.db.QueryRow(`SELECT count(*) FROM kv`).Scan(&k); err != nil || k != 2 {
		t.Fatalf("restored %d rows (%v), want the old and the new", k, err)
	}
	if _, err := n.CurrentBookmark(ctx, "v1", "obj"); err != nil {
		t.Fatal(err)
	}
}

// The retention sweep purges the history past HistoryRetention of the objects this
// node is the preferred node of.
func TestHistorySweep(t *testing.T) {
	c := sharedCluster(t)
	// Times far before every other test's, so that this node's sweep purges no one
	// else's log.
	wall := &wallClock{now: time.Unix(1_000_000_000, 0)}
	cfg := testConfig("hist-sweep")
	cfg.Now, cfg.HistoryRetention = wall.Now, time.Hour
	n := join(t, c, 2, cfg)
	waitFor(t, 10*time.Second, "the node in its member cache", func() bool { return slices.Contains(n.members.live(), n.Name()) })
	live := n.members.live()
	id := ""
	for i := 0; id == "" && i < 10000; i++ {
		if k := fmt.Sprintf("obj-%d", i); preferredNode(objectKey("sweep", k), live) == n.Name() {
			id = k
		}
	}
	a := activate(t, n, "sweep", id)
	mustExec(t, a.db, `CREATE TABLE kv (k INTEGER PRIMARY KEY)`)
	t0 := wall.Now()
	for i := range 6 {
		wall.Set(t0.Add(time.Duration(i) * time.Minute))
		if err := a.commitSQL(t, fmt.Sprintf(`INSERT INTO kv VALUES (%d)`, i)); err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			if err := a.obj.Snapshot(testContext(t)); err != nil {
				t.Fatal(err)
			}
		}
	}
	a.close(t)
	ctx := testContext(t)
	before := firstRecord(t, n, "sweep", id)
	wall.Set(t0.Add(time.Hour + 4*time.Minute)) // the snapshot (3 min) is past retention
	if _, err := n.SweepHistory(ctx); err != nil {
		t.Fatal(err)
	}
	after := firstRecord(t, n, "sweep", id)
	if start := restoreStart(t, n, "sweep", id); after != start || after == before {
		t.Fatalf("after the sweep the log starts at %d (was %d), want the snapshot at %d", after, before, start)
	}
}

// The operator's path (admin API, as the warren CLI uses it) works on a node that
// does not own the object: the bookmark is read from the log there, the restore is
// sent to the owner; the routes that work on one node's copy answer 501.
func TestHistoryAdminFromAnyNode(t *testing.T) {
	c := sharedCluster(t)
	wall := newWallClock()
	cfg := func(name string) Config {
		cfg := testConfig(name)
		cfg.Now = wall.Now
		return cfg
	}
	a := startRuntime(t, c, 1, cfg("hist-adm-a"))
	b := startRuntime(t, c, 2, cfg("hist-adm-b"))
	ctx := testContext(t)
	t0 := wall.Now()
	for i := range 5 {
		wall.Set(t0.Add(time.Duration(i) * time.Second))
		if _, err := a.add(ctx, "adm", i); err != nil {
			t.Fatal(err)
		}
	}
	wall.Set(t0.Add(time.Minute))
	const token = "0123456789abcdef0123"
	h, err := admin.New(b.rt, admin.Config{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	cl := &admin.Client{BaseURL: srv.URL, Token: token}
	id := a.ns.IDFromName("adm").String()
	bm, err := cl.Bookmark(ctx, "ledger", id, t0.Add(2500*time.Millisecond))
	if err != nil || bm.HistoryBytes <= 0 {
		t.Fatalf("bookmark through the admin API of a node that does not own the object: %+v, %v", bm, err)
	}
	res, err := cl.RestoreBookmark(ctx, "ledger", id, bm.Bookmark)
	if err != nil || res.Undo == "" {
		t.Fatalf("restore through the admin API of a node that does not own the object: %+v, %v", res, err)
	}
	if got := b.entries(t, "adm"); !slices.Equal(got, upTo(2)) {
		t.Fatalf("after the restore: %v, want turns 0 to 2", got)
	}
	// warren_history_bytes: the runtime's Cluster reports the cluster's history size.
	// (what it reads every 30 s).
	if _, ok := b.rt.Config().Cluster.(interface{ HistoryBytes() int64 }); !ok {
		t.Fatal("the cluster seam reports no history size")
	}
	if got, err := b.n.HistoryBytes(ctx); err != nil || got < bm.HistoryBytes {
		t.Fatalf("cluster history %d bytes (%v), less than one object's %d", got, err, bm.HistoryBytes)
	}
	var apiErr *admin.APIError
	if _, err := cl.List(ctx, "ledger", object.ObjectListOptions{}); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotImplemented {
		t.Fatalf("listing in cluster mode: %v, want 501", err)
	}
}

// A restore records the restored state's earliest alarm in the alarms bucket, so
// that after a failover another node wakes the object for it, even when the state it
// replaced had no alarm entry.
func TestHistoryRestoreRecordsAlarm(t *testing.T) {
	c := sharedCluster(t)
	a := startRuntime(t, c, 0, testConfig("hist-alarm"))
	ctx := testContext(t)
	stub := a.ns.GetByName("al")
	if _, err := ledgerSetAlarm.Call(ctx, stub, time.Hour); err != nil {
		t.Fatal(err)
	}
	id := a.ns.IDFromName("al")
	bm, err := a.rt.CurrentBookmark(ctx, "ledger", id)
	if err != nil {
		t.Fatal(err)
	}
	key := objectKey("ledger", id.String())
	if err := a.n.a.alarms.Delete(ctx, key); err != nil { // as if the state after had none
		t.Fatal(err)
	}
	if _, err := a.add(ctx, "al", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := a.rt.RestoreBookmark(ctx, "ledger", id, bm); err != nil {
		t.Fatal(err)
	}
	// The bucket's reads may be served by a replica a moment behind the write.
	var e jetstream.KeyValueEntry
	waitFor(t, 5*time.Second, "the restored state's alarm in the alarms bucket", func() bool {
		e, err = a.n.a.alarms.Get(ctx, key)
		return err == nil
	})
	var entry alarmEntry
	if err := json.Unmarshal(e.Value(), &entry); err != nil || entry.Due > time.Now().Add(time.Hour).UnixNano() {
		t.Fatalf("alarm entry %+v (%v), want due within the hour", entry, err)
	}
}
