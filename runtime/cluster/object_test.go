package cluster

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"
)

// smallRecord replaces the message size limit (1 MiB by default) in tests of the
// big-batch path, so that they need not write megabytes.
const smallRecord = 64 << 10

// activation is an Object with its database open, as the runtime holds it.
type activation struct {
	obj  *Object
	db   *sql.DB
	path string
}

func activate(t testing.TB, n *Node, namespace, id string) *activation {
	t.Helper()
	path := filepath.Join(t.TempDir(), "obj.sqlite")
	obj, err := n.Open(testContext(t), namespace, id, path)
	if err != nil {
		t.Fatalf("open on %s: %v", n.Name(), err)
	}
	return &activation{obj: obj, db: openObjectDB(t, path), path: path}
}

// commit runs commit through the Object, as the runtime's Committer will.
func (a *activation) commit(commit func() error) error {
	return a.obj.Commit(context.Background(), commit)
}

// commitSQL runs q in a transaction of its own, committed through the Object.
func (a *activation) commitSQL(t testing.TB, q string) error {
	t.Helper()
	mustExec(t, a.db, "BEGIN")
	mustExec(t, a.db, q)
	return a.commit(func() error { _, err := a.db.Exec("COMMIT"); return err })
}

// close closes the database, then the Object, in the order the runtime must.
func (a *activation) close(t testing.TB) {
	t.Helper()
	if err := a.db.Close(); err != nil {
		t.Fatal(err)
	}
	a.obj.Close()
}

// logRecords returns the kinds of the records on an object's log, in order.
func logRecords(t testing.TB, n *Node, namespace, id string) []byte {
	t.Helper()
	l := n.objectLog(objectKey(namespace, id))
	last, _, err := l.tail(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []byte
	err = l.replay(testContext(t), 1, last, func(_ uint64, data []byte) error {
		r, err := decodeRecord(data)
		kinds = append(kinds, r.kind)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return kinds
}

// restoreRecords returns the kinds of the records a restore of an object's state
// at the log's tail reads: from its latest snapshot (or first commit) on. The records
// before it are history, which a restore does not read.
func restoreRecords(t testing.TB, n *Node, namespace, id string) []byte {
	t.Helper()
	l := n.objectLog(objectKey(namespace, id))
	ctx := testContext(t)
	last, r, err := l.last(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start, err := l.start(ctx, last, r)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []byte
	err = l.replay(ctx, start, last, func(_ uint64, data []byte) error {
		r, err := decodeRecord(data)
		kinds = append(kinds, r.kind)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return kinds
}

// restoreStart returns the sequence a restore of an object's state at the log's tail
// starts from.
func restoreStart(t testing.TB, n *Node, namespace, id string) uint64 {
	t.Helper()
	l := n.objectLog(objectKey(namespace, id))
	ctx := testContext(t)
	last, r, err := l.last(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start, err := l.start(ctx, last, r)
	if err != nil {
		t.Fatal(err)
	}
	return start
}

// firstRecord returns the sequence of the first record on an object's log, read from
// the stream leader (a consumer on a lagging replica may still show records a rollup
// removed).
func firstRecord(t testing.TB, n *Node, namespace, id string) uint64 {
	t.Helper()
	l := n.objectLog(objectKey(namespace, id))
	m, err := l.stream.GetMsg(testContext(t), 1, jetstream.WithGetMsgSubject(l.subject))
	if err != nil {
		t.Fatal(err)
	}
	return m.Sequence
}

// A replaced owner that still believes itself alive (its clock is frozen, as in a
// long pause) cannot commit: the new owner's EPOCH record fences its log, its append
// is rejected, and the new owner's database holds exactly what the old one had
// acknowledged.
func TestZombieAppendRejected(t *testing.T) {
	c := sharedCluster(t)
	zombie, _ := joinWithClock(t, c, 0, "zombie")
	heir := join(t, c, 1, testConfig("heir"))
	old := activate(t, zombie, "fence", "x")
	for i := range 5 {
		workload(t, old.db, i, old.commit)
	}
	acked := tableDump(t, old.path)

	pauseRenewals(zombie)
	waitFor(t, 4*testLeaseTTL, "the zombie's lease to expire", func() bool {
		_, ok, err := lookupMember(context.Background(), heir.a.nodes, "zombie")
		return err == nil && !ok
	})
	now := activate(t, heir, "fence", "x")
	if now.obj.Epoch() <= old.obj.Epoch() {
		t.Fatalf("new epoch %d not above the old %d", now.obj.Epoch(), old.obj.Epoch())
	}
	if got := tableDump(t, now.path); !cmp.Equal(got, acked) {
		t.Fatalf("the heir's database differs from what the zombie acknowledged: %s", cmp.Diff(acked, got))
	}

	if !zombie.Serving() {
		t.Fatal("the zombie's frozen clock should say serving")
	}
	if err := old.commitSQL(t, `INSERT INTO kv (k, v) VALUES (-1, 'lost')`); !errors.Is(err, ErrFenced) {
		t.Fatalf("zombie commit: %v, want ErrFenced", err)
	}
	if err := old.commit(func() error { t.Fatal("commit ran on a broken activation"); return nil }); !errors.Is(err, ErrFenced) {
		t.Fatalf("commit after a fenced one: %v, want ErrFenced again", err)
	}
	workload(t, now.db, 5, now.commit)
	if kinds := logRecords(t, heir, "fence", "x"); kinds[len(kinds)-1] != kindFrames || bytes.Count(kinds, []byte{kindEpoch}) != 2 {
		t.Fatalf("log records %q, want two EPOCHs and the heir's FRAMES last", kinds)
	}
	old.close(t)
	now.close(t)
}

// An object's database is restored on another node byte for byte: through a
// snapshot (which rolls the log up), a batch too big for one message (stored as a
// blob), VACUUMs that shrink the file, and a third node restoring after the second
// wrote more.
func TestRestoreEqualsOriginal(t *testing.T) {
	c := sharedCluster(t)
	first := join(t, c, 0, testConfig("writer1"))
	first.maxRecord = smallRecord
	src := activate(t, first, "restore", "doc")
	for i := range 16 {
		workload(t, src.db, i, src.commit)
		if i == 8 {
			if err := src.obj.Snapshot(testContext(t)); err != nil {
				t.Fatal(err)
			}
			if seq := restoreStart(t, first, "restore", "doc"); seq != src.obj.lastSeq {
				t.Fatalf("after a snapshot a restore starts at %d, want the SNAP at %d", seq, src.obj.lastSeq)
			}
		}
	}
	blobs := len(src.obj.batchBlobs)
	// With its index entry, past smallRecord:
	if err := src.commitSQL(t, `INSERT INTO kv (k, v) VALUES (-2, randomblob(100000))`); err != nil {
		t.Fatal(err)
	}
	if len(src.obj.batchBlobs) != blobs+1 {
		t.Fatalf("a 200 kB batch was not stored as a blob (blobs %v)", src.obj.batchBlobs)
	}
	workload(t, src.db, 30, src.commit)
	want := committedImage(t, src.path)
	wantRows := tableDump(t, src.path)
	src.close(t)
	if err := first.Close(); err != nil { // leaves: its objects can be claimed at once
		t.Fatal(err)
	}

	second := join(t, c, 1, testConfig("writer2"))
	dst := activate(t, second, "restore", "doc")
	if got, err := os.ReadFile(dst.path); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("restored file (%d bytes, %v) differs from the original (%d bytes)", len(got), err, len(want))
	}
	if got := tableDump(t, dst.path); !cmp.Equal(got, wantRows) {
		t.Fatal(cmp.Diff(wantRows, got))
	}
	for i := 31; i < 35; i++ {
		workload(t, dst.db, i, dst.commit)
	}
	want = committedImage(t, dst.path)
	dst.close(t)
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}

	third := join(t, c, 2, testConfig("writer3"))
	again := activate(t, third, "restore", "doc")
	defer again.close(t)
	if got, err := os.ReadFile(again.path); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("second restore (%d bytes, %v) differs (%d bytes)", len(got), err, len(want))
	}
	if err := integrityCheck(testContext(t), again.path); err != nil {
		t.Fatal(err)
	}
}

// A new object's first commit ships its whole file (the log has nothing to apply a
// delta to); without history, a snapshot deletes the blobs of the records it rolled
// up.
func TestFirstCommitShipsWholeFileAndSnapshotCollectsBlobs(t *testing.T) {
	c := sharedCluster(t)
	cfg := testConfig("fresh")
	cfg.HistoryRetention = -1
	n := join(t, c, 2, cfg)
	n.maxRecord = smallRecord
	a := activate(t, n, "fresh", "obj")
	if !a.obj.needBase {
		t.Fatal("a new object should need its base shipped")
	}
	// Open leaves no file: the runtime creates one (here, a database made outside
	// the commit path, as the runtime's template is) and the first commit ships it.
	mustExec(t, a.db, `CREATE TABLE kv (k INTEGER PRIMARY KEY, v BLOB NOT NULL)`)
	workload(t, a.db, 1, a.commit)
	if err := a.commitSQL(t, `INSERT INTO kv (k, v) VALUES (-3, randomblob(100000))`); err != nil {
		t.Fatal(err)
	}
	blob := a.obj.batchBlobs[0]
	if err := a.obj.Snapshot(testContext(t)); err != nil {
		t.Fatal(err)
	}
	firstSnap := a.obj.snap.name
	// The bucket's reads may be served by a replica a moment behind the delete.
	deleted := func(name string) bool {
		_, err := n.a.snaps.GetInfo(testContext(t), name)
		return errors.Is(err, jetstream.ErrObjectNotFound)
	}
	waitFor(t, 5*time.Second, "the rolled-up batch blob deleted", func() bool { return deleted(blob) })
	workload(t, a.db, 2, a.commit)
	if err := a.obj.Snapshot(testContext(t)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the replaced snapshot deleted", func() bool { return deleted(firstSnap) })
	want := committedImage(t, a.path)
	a.close(t)

	// Re-activated under the same claim, the node's own file is reused as it is.
	before, _ := os.Stat(a.path)
	obj, err := n.Open(testContext(t), "fresh", "obj", a.path)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(a.path)
	if !os.SameFile(before, after) {
		t.Fatal("an up-to-date local file was restored again")
	}
	obj.Close()
	if got, _ := os.ReadFile(a.path); !bytes.Equal(got, want) {
		t.Fatal("reused file differs")
	}
}

// The lease deadline check costs no I/O: a Commit on a node whose clock passed the
// lease's end fails without running the commit.
func TestCommitRefusedAfterLeaseEnd(t *testing.T) {
	n, clock := joinWithClock(t, sharedCluster(t), 1, "late")
	pauseRenewals(n)
	a := activate(t, n, "late", "obj")
	defer a.close(t)
	clock.Advance(time.Hour)
	if err := a.commit(func() error { t.Fatal("commit ran"); return nil }); !errors.Is(err, ErrLeaseExpired) {
		t.Fatalf("got %v, want ErrLeaseExpired", err)
	}
}

// An acknowledged commit survives the loss of the server leading its log's stream
// (a graceful shutdown stands in for a crash here): the stream elects another
// leader among the two left, commits go on, and another node restores everything.
func TestCommitsSurviveLogLeaderShutdown(t *testing.T) {
	c, err := startCluster(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.shutdown) // after the nodes' cleanups: they leave while their servers run
	config := func(name string) Config {
		cfg := testConfig(name)
		cfg.RequestTimeout = 5 * time.Second // a request lost in the loss costs no more
		return cfg
	}
	setup := join(t, c, 0, config("setup"))
	log := setup.objectLog(objectKey("failover", "doc"))
	leader := streamLeader(t, log)
	idx := func(name string) int {
		for i, s := range c.servers {
			if s.ns.Name() == name {
				return i
			}
		}
		t.Fatalf("no server %q", name)
		return 0
	}(leader)
	writer := join(t, c, idx+1, config("writer"))
	w := activate(t, writer, "failover", "doc")
	for i := range 5 {
		workload(t, w.db, i, w.commit)
	}
	setup.Close() // it may be connected to the server about to go
	c.servers[idx].Shutdown()
	waitFor(t, 20*time.Second, "a new leader of the log's stream", func() bool {
		l := streamLeader(t, writer.objectLog(objectKey("failover", "doc")))
		return l != "" && l != leader
	})
	for i := 5; i < 10; i++ {
		workload(t, w.db, i, w.commit)
	}
	want := committedImage(t, w.path)
	w.close(t)
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	reader := join(t, c, idx+2, config("reader"))
	r := activate(t, reader, "failover", "doc")
	defer r.close(t)
	if got, err := os.ReadFile(r.path); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("restored after the leader's loss: %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
}

// streamLeader names the server leading the stream of an object's log ("" while it
// has none).
func streamLeader(t testing.TB, l objectLog) string {
	t.Helper()
	// Short: a request sent while the servers learn of the loss can go unanswered.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	info, err := l.stream.Info(ctx)
	if err != nil || info.Cluster == nil {
		return ""
	}
	return info.Cluster.Leader
}

// SnapshotDue turns true once SnapshotRecords records were appended since the last
// snapshot; snapshotting whenever it is (as the runtime does after each batch) keeps
// a restore from replaying more than that.
func TestSnapshotDueAfterSnapshotRecords(t *testing.T) {
	cfg := testConfig("autosnap")
	cfg.SnapshotRecords = 3
	n := join(t, sharedCluster(t), 1, cfg)
	a := activate(t, n, "autosnap", "obj")
	defer a.close(t)
	for i := range 4 {
		workload(t, a.db, i, a.commit)
		if due := a.obj.SnapshotDue(); due != (i == 2) {
			t.Fatalf("after commit %d SnapshotDue is %v", i, due)
		}
		if a.obj.SnapshotDue() {
			if err := a.obj.Snapshot(testContext(t)); err != nil {
				t.Fatal(err)
			}
		}
	}
	kinds := restoreRecords(t, n, "autosnap", "obj")
	if kinds[0] != kindSnap || len(kinds) > 3 {
		t.Fatalf("restore reads %q after 4 commits with SnapshotRecords 3, want a SNAP first and at most 2 records after it", kinds)
	}
}
