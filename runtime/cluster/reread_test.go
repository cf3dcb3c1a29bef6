package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A read whose request was lost is sent again after rereadEvery instead of waiting
// out the request timeout (30 s here). Here the request is lost with the TCP
// connection it was in; a stream whose leader was killed drops requests the same
// way until its followers elect another one, seconds later (elections.go), and every claim and
// Locate behind such a read waited for its timeout (failovers of 30 s and more).
func TestLostReadIsSentAgain(t *testing.T) {
	t.Parallel() // waits seconds, as TestRuntimeZombieCommitRefused does
	c := sharedCluster(t)
	proxy := startPausingProxy(t, c.servers[0].ClientURL())
	nc, err := nats.Connect(proxy.url(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	n, err := Join(testContext(t), nc, testConfig("lost-read"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	proxy.setPaused(true)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, _, err := readClaim(context.Background(), n.a.owners, objectKey("ledger", "lost-read"))
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // the request is held in the proxy
	proxy.cut()                        // and lost with its connection; the client reconnects
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("read after its request was lost: %v", err)
		}
		t.Logf("answered %v after the first request", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("read still unanswered 10 s after its request was lost")
	}
}

// A read sent while a stream elects a leader is dropped without an answer (the
// requests of the election's seconds are lost); once the new leader is there, the
// reader gets its answer within about rereadEvery. Failovers are the elections of
// the killed server's streams plus what comes after them, and every Locate and
// claim waiting on such a read waited up to a second more (issue 19). Copies lost
// silently never stop new ones from going out.
func TestReadIsAnsweredSoonAfterAnElection(t *testing.T) {
	const election = 2100 * time.Millisecond
	start := time.Now()
	var sent atomic.Int32
	v, err := reread(context.Background(), 30*time.Second, func(ctx context.Context) (int, error) {
		sent.Add(1)
		if time.Since(start) < election {
			<-ctx.Done() // dropped: no answer ever comes
			return 0, ctx.Err()
		}
		return 7, nil
	})
	late := time.Since(start) - election
	t.Logf("answered %v after the election, %d copies sent", late.Round(time.Millisecond), sent.Load())
	if err != nil || v != 7 {
		t.Fatalf("got %d, %v", v, err)
	}
	if late > 400*time.Millisecond {
		t.Fatalf("answered %v after the new leader came, want within 400 ms", late.Round(time.Millisecond))
	}
}

// losingStore is the node's object store with the first request of a blob's read
// (its metadata) lost: the proxy the node connects through holds the request, then
// loses it with its connection (the client reconnects), as a request is lost with a
// killed server that was serving it. Its Get (a consumer on the chunks) never
// answers, as while the JetStream meta leader, which creates consumers, is elected.
type losingStore struct {
	jetstream.ObjectStore
	proxy *pausingProxy
	gets  atomic.Int32
}

func (s *losingStore) GetInfo(ctx context.Context, name string, opts ...jetstream.GetObjectInfoOpt) (*jetstream.ObjectInfo, error) {
	if s.gets.Add(1) == 1 {
		s.proxy.setPaused(true)
		time.AfterFunc(200*time.Millisecond, s.proxy.cut)
	}
	return s.ObjectStore.GetInfo(ctx, name, opts...)
}

func (s *losingStore) Get(ctx context.Context, name string, opts ...jetstream.GetObjectOpt) (jetstream.ObjectResult, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A restore whose snapshot read was lost sends it again instead of waiting out its
// context (the activation's bound: 30 s by default, which failovers waited), and the
// restored database is the original. It needs no consumer (the object store's Get):
// a consumer is created by the JetStream meta leader, and with the meta leader's
// server killed restores waited for the meta group's election (issue 19).
func TestLostBlobReadIsSentAgain(t *testing.T) {
	t.Parallel() // waits seconds, as TestLostReadIsSentAgain does
	c := sharedCluster(t)
	writer := join(t, c, 0, testConfig("lost-blob-writer"))
	src := activate(t, writer, "lostblob", "doc")
	for i := range 4 {
		workload(t, src.db, i, src.commit)
	}
	if err := src.obj.Snapshot(testContext(t)); err != nil {
		t.Fatal(err)
	}
	workload(t, src.db, 4, src.commit)
	want := tableDump(t, src.path)
	src.close(t)
	if err := writer.Close(); err != nil { // leaves: the object can be claimed at once
		t.Fatal(err)
	}

	proxy := startPausingProxy(t, c.servers[1].ClientURL())
	nc, err := nats.Connect(proxy.url(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	heir, err := Join(testContext(t), nc, testConfig("lost-blob-heir"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { heir.Close() })
	store := &losingStore{ObjectStore: heir.a.snaps, proxy: proxy}
	heir.a.snaps = store

	path := filepath.Join(t.TempDir(), "obj.sqlite")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // the default activation bound
	defer cancel()
	type opened struct {
		obj *Object
		err error
	}
	done := make(chan opened, 1)
	start := time.Now()
	go func() {
		obj, err := heir.Open(ctx, "lostblob", "doc", path)
		done <- opened{obj, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			t.Fatalf("activation after its snapshot's read was lost: %v", o.err)
		}
		defer o.obj.Close()
		t.Logf("restored %v after the first read, in %d metadata reads", time.Since(start).Round(time.Millisecond), store.gets.Load())
	case <-time.After(10 * time.Second):
		t.Fatal("restore still waiting 10 s after its snapshot's read was lost")
	}
	if n := store.gets.Load(); n < 2 {
		t.Fatalf("%d metadata reads: the lost one was not sent again", n)
	}
	if got := tableDump(t, path); !cmp.Equal(got, want) {
		t.Fatal(cmp.Diff(want, got))
	}
}

// A blob that differs from its record (another digest) is corruption, not a lost
// read: fetchBlob fails at once with ErrCorrupt, without waiting for a stall.
func TestCorruptBlobIsNotReadAgain(t *testing.T) {
	c := sharedCluster(t)
	cfg := testConfig("corrupt-blob")
	var logs bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))
	n := join(t, c, 2, cfg)
	content := bytes.Repeat([]byte("warren"), 50000)
	ref, err := n.putBlob(testContext(t), "corrupt-blob/test", bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	into := func() (io.Writer, error) { got.Reset(); return &got, nil }
	if err := n.fetchBlob(testContext(t), ref, into); err != nil || !bytes.Equal(got.Bytes(), content) {
		t.Fatalf("fetch: %v (%d bytes of %d)", err, got.Len(), len(content))
	}
	store := &countingStore{ObjectStore: n.a.snaps}
	n.a.snaps = store
	ref.digest[0] ^= 1
	start := time.Now()
	err = n.fetchBlob(testContext(t), ref, into)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("fetch of a blob with another digest: %v, want ErrCorrupt", err)
	}
	// A Get sent to a replica that lags is answered "not found" and sent again at
	// once: more than one Get is no stall.
	if d, gets := time.Since(start), store.gets.Load(); d >= blobStall {
		t.Fatalf("ErrCorrupt after %v and %d Gets, want at once (%s)", d, gets, logs.String())
	} else if gets > 1 {
		t.Logf("ErrCorrupt after %v and %d Gets: %s", d, gets, logs.String())
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// countingStore counts the Gets of the node's object store.
type countingStore struct {
	jetstream.ObjectStore
	gets atomic.Int32
}

func (s *countingStore) Get(ctx context.Context, name string, opts ...jetstream.GetObjectOpt) (jetstream.ObjectResult, error) {
	s.gets.Add(1)
	return s.ObjectStore.Get(ctx, name, opts...)
}

// The alarm entry read before a turn's commit (AlarmDue) is sent again when its
// request was lost, as claims' reads are, instead of holding the turn for the
// request timeout (30 s here).
func TestLostAlarmReadIsSentAgain(t *testing.T) {
	t.Parallel() // waits seconds, as TestLostReadIsSentAgain does
	c := sharedCluster(t)
	proxy := startPausingProxy(t, c.servers[2].ClientURL())
	nc, err := nats.Connect(proxy.url(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	n, err := Join(testContext(t), nc, testConfig("lost-alarm-read"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	h := &host{n: n}
	a := &active{namespace: "alarmread", id: "lost"}
	proxy.setPaused(true)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- h.readAlarm(context.Background(), a) }()
	time.Sleep(200 * time.Millisecond) // the request is held in the proxy
	proxy.cut()                        // and lost with its connection; the client reconnects
	select {
	case err := <-done:
		if err != nil || !a.alarmKnown || a.alarmHas {
			t.Fatalf("alarm read after its request was lost: %v (known %v, has %v), want no entry", err, a.alarmKnown, a.alarmHas)
		}
		t.Logf("answered %v after the first request", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("alarm read still unanswered 10 s after its request was lost")
	}
}

// losingJS is a node's JetStream handle whose first append to an object log (or
// its lose-th) is lost: it is never answered, as an append sent while a log stream's
// new leader takes over was seen to be (the fence waited out its whole 2 s bound,
// then landed at once when sent again). With stored, the append is stored and only
// its answer is lost.
type losingJS struct {
	jetstream.JetStream
	lose    int32
	stored  bool
	appends atomic.Int32
}

func (j *losingJS) PublishMsg(ctx context.Context, m *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if strings.HasPrefix(m.Subject, logSubjectPre) && j.appends.Add(1) == max(j.lose, 1) {
		if j.stored {
			if _, err := j.JetStream.PublishMsg(ctx, m, opts...); err != nil {
				return nil, err
			}
		}
		select { // as a real request: its context, else the default timeout
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(j.Options().DefaultTimeout):
			return nil, context.DeadlineExceeded
		}
	}
	return j.JetStream.PublishMsg(ctx, m, opts...)
}

// A fence whose EPOCH append goes unanswered sends it again (after reading the tail)
// within writeFirst, instead of waiting out writeAttempt: an activation after a
// failover, whose log stream has just elected a leader, came 2 s later than the
// stream could serve it (issue 19).
func TestUnansweredFenceIsSentAgainSoon(t *testing.T) {
	c := sharedCluster(t)
	n := join(t, c, 1, testConfig("lost-fence"))
	js := &losingJS{JetStream: n.js}
	n.js = js
	start := time.Now()
	a := activate(t, n, "lostfence", "doc")
	took := time.Since(start)
	defer a.close(t)
	t.Logf("activated in %v, %d appends", took.Round(time.Millisecond), js.appends.Load())
	if js.appends.Load() < 2 {
		t.Fatalf("%d appends: the lost one was not sent again", js.appends.Load())
	}
	if took > 1500*time.Millisecond {
		t.Fatalf("activation took %v after its EPOCH append went unanswered, want within 1.5 s", took.Round(time.Millisecond))
	}
	if err := a.commitSQL(t, "CREATE TABLE t (x)"); err != nil {
		t.Fatalf("commit after the fence was sent again: %v", err)
	}
}

// A commit whose append goes unanswered sends it again within writeFirst instead of
// waiting out the request timeout (30 s here, 10 s by default): a commit sent to a
// log stream whose leader was killed waited 10 s while the election took 2-5 s (a
// failover of 11.6 s, issue 19). When the lost copy was stored (its answer lost),
// the copy sent again is refused and the log shows the record is this one: the
// commit succeeds once, and the next commit follows it.
func TestUnansweredCommitIsSentAgain(t *testing.T) {
	c := sharedCluster(t)
	for _, stored := range []bool{false, true} {
		t.Run(fmt.Sprintf("stored=%v", stored), func(t *testing.T) {
			n := join(t, c, 1, testConfig(fmt.Sprintf("lost-commit-%v", stored)))
			js := &losingJS{JetStream: n.js, lose: 2, stored: stored} // 1 is the fence's EPOCH
			n.js = js
			a := activate(t, n, "lostcommit", fmt.Sprint(stored))
			defer a.close(t)
			start := time.Now()
			err := a.commitSQL(t, "CREATE TABLE t (x)")
			took := time.Since(start)
			t.Logf("committed in %v, %d appends", took.Round(time.Millisecond), js.appends.Load())
			if err != nil {
				t.Fatalf("commit whose append went unanswered: %v", err)
			}
			if took > 1500*time.Millisecond {
				t.Fatalf("commit took %v after its append went unanswered, want within 1.5 s", took.Round(time.Millisecond))
			}
			if err := a.commitSQL(t, "INSERT INTO t VALUES (1)"); err != nil {
				t.Fatalf("the next commit: %v", err)
			}
			var records []uint64
			for seq := uint64(1); ; seq++ {
				m, err := a.obj.log.next(testContext(t), seq)
				if errors.Is(err, jetstream.ErrMsgNotFound) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				records, seq = append(records, m.Sequence), m.Sequence
			}
			if len(records) != 3 || records[2] != a.obj.lastSeq {
				t.Fatalf("log records %v, want the EPOCH and the two commits, the last at %d", records, a.obj.lastSeq)
			}
		})
	}
}
