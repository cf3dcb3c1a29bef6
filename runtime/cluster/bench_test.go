package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

var benchNodes atomic.Int64

// benchNode returns a node on a standalone server (R1) or on the shared three-server
// cluster (R3), every server with sync_interval: always.
func benchNode(b *testing.B, servers int) *Node {
	b.Helper()
	if servers == 3 {
		return join(b, sharedCluster(b), 0, testConfig(fmt.Sprintf("bench%d", benchNodes.Add(1))))
	}
	s, err := StartServer(ServerConfig{Name: "solo", StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Shutdown)
	cfg := testConfig("solo")
	cfg.Replicas = 1
	return join(b, &testCluster{servers: []*Server{s}}, 0, cfg)
}

// BenchmarkFencedAppend measures one fenced append to an object's log: a FRAMES
// record of one 4 KiB page, appended with the expected last sequence, acknowledged
// once stored (R3: by a quorum), every server fsyncing each write.
func BenchmarkFencedAppend(b *testing.B) {
	for _, servers := range []int{1, 3} {
		b.Run(fmt.Sprintf("servers=%d", servers), func(b *testing.B) {
			n := benchNode(b, servers)
			obj, err := n.Open(context.Background(), "bench", n.Name(), filepath.Join(b.TempDir(), "x.sqlite"))
			if err != nil {
				b.Fatal(err)
			}
			defer obj.Close()
			page := &pageSet{pageSize: 4096, dbSize: 1, pages: map[uint32][]byte{1: make([]byte, 4096)}}
			b.ResetTimer()
			for b.Loop() {
				if err := obj.appendPages(context.Background(), page, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCommit measures a whole durable batch in cluster mode: an SQLite COMMIT of
// one small insert (synchronous=FULL), reading its log frames, and the fenced append.
func BenchmarkCommit(b *testing.B) {
	for _, servers := range []int{1, 3} {
		b.Run(fmt.Sprintf("servers=%d", servers), func(b *testing.B) {
			n := benchNode(b, servers)
			path := filepath.Join(b.TempDir(), "x.sqlite")
			obj, err := n.Open(context.Background(), "bench-commit", n.Name(), path)
			if err != nil {
				b.Fatal(err)
			}
			defer obj.Close()
			db := openObjectDB(b, path)
			a := &activation{obj: obj, db: db, path: path}
			workload(b, db, 0, a.commit)
			i := 0
			for b.Loop() {
				i++
				mustExec(b, db, "BEGIN")
				mustExec(b, db, `INSERT OR REPLACE INTO kv (k, v) VALUES (?, 'value')`, i%1000)
				if err := a.commit(func() error { _, err := db.Exec("COMMIT"); return err }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRuntimeDurableTurns64 is one object with 64 concurrent callers, each turn
// an upsert of one row, through an object.Runtime attached to a node: every batch is committed
// to SQLite and appended to the object's log (one fenced append per batch, R3 on the
// shared three-server cluster, or R1 on a standalone server) before its results are
// released.
func BenchmarkRuntimeDurableTurns64(b *testing.B) {
	for _, servers := range []int{1, 3} {
		b.Run(fmt.Sprintf("servers=%d", servers), func(b *testing.B) {
			r := attachRuntime(b, benchNode(b, servers))
			stub := r.ns.GetByName("hot-" + r.n.Name()) // the shared cluster keeps every round's object
			if _, err := ledgerAdd.Call(context.Background(), stub, -1); err != nil {
				b.Fatal(err)
			}
			var seq atomic.Int64
			before := r.rt.Stats()
			b.SetParallelism((64 + 1) / 2) // GOMAXPROCS 2 on the reference machine: 64 goroutines
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := ledgerPut.Call(context.Background(), stub, int(seq.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			el := time.Since(start)
			st := r.rt.Stats()
			commits, turns := st.Commits-before.Commits, st.CommittedTurns-before.CommittedTurns
			b.ReportMetric(float64(b.N)/el.Seconds(), "turns/s")
			if commits > 0 {
				b.ReportMetric(float64(turns)/float64(commits), "turns/batch")
				b.ReportMetric(float64(el.Microseconds())/float64(commits), "µs/batch")
			}
		})
	}
}

// BenchmarkHistory measures point-in-time recovery on the shared three-server
// cluster (R3), on an object of 1,000 committed batches (one row each, a snapshot
// every 50 records): the bookmark of a random moment (the binary search over the
// log), and building the state at a random bookmark (its snapshot and at most 50
// batches, integrity_check), what a restore reads before it commits.
func BenchmarkHistory(b *testing.B) {
	wall := newWallClock()
	cfg := testConfig(fmt.Sprintf("bench%d", benchNodes.Add(1)))
	cfg.Now = wall.Now
	n := join(b, sharedCluster(b), 0, cfg)
	a := activate(b, n, "bench-hist", n.Name())
	mustExec(b, a.db, `CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)`)
	t0 := wall.Now()
	const turns = 1000
	for i := range turns {
		wall.Set(t0.Add(time.Duration(i) * time.Second))
		if err := a.commitSQL(b, fmt.Sprintf(`INSERT INTO kv VALUES (%d, 'row %d')`, i, i)); err != nil {
			b.Fatal(err)
		}
		if (i+1)%50 == 0 {
			if err := a.obj.Snapshot(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
	a.close(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var bookmarks []string
	b.Run("bookmark-for-time", func(b *testing.B) {
		for b.Loop() {
			bm, err := n.BookmarkForTime(ctx, "bench-hist", n.Name(), t0.Add(time.Duration(rng.IntN(turns))*time.Second))
			if err != nil {
				b.Fatal(err)
			}
			bookmarks = append(bookmarks, bm)
		}
	})
	b.Run("build-state", func(b *testing.B) {
		dst := filepath.Join(b.TempDir(), "at.sqlite")
		for b.Loop() {
			if err := n.BuildBookmark(ctx, "bench-hist", n.Name(), bookmarks[rng.IntN(len(bookmarks))], dst); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRuntimeDurableTurns64History is BenchmarkRuntimeDurableTurns64 on the
// three-server cluster with the history off (HistoryRetention negative: each
// snapshot rolls the log up and deletes the blobs before it) and on (the default:
// the log and snapshots are kept), one after the other, a snapshot every 100
// records: the history's cost on the turn path (run with -count to alternate them).
func BenchmarkRuntimeDurableTurns64History(b *testing.B) {
	for _, mode := range []struct {
		name      string
		retention time.Duration
	}{{"off", -1}, {"on", 0}} {
		b.Run("history="+mode.name, func(b *testing.B) {
			cfg := testConfig(fmt.Sprintf("bench%d", benchNodes.Add(1)))
			cfg.HistoryRetention = mode.retention
			cfg.SnapshotRecords = 100 // a snapshot about every half second: its cost shows
			r := attachRuntime(b, join(b, sharedCluster(b), 0, cfg))
			stub := r.ns.GetByName("hot-" + r.n.Name())
			if _, err := ledgerAdd.Call(context.Background(), stub, -1); err != nil {
				b.Fatal(err)
			}
			var seq atomic.Int64
			b.SetParallelism((64 + 1) / 2)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := ledgerPut.Call(context.Background(), stub, int(seq.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "turns/s")
		})
	}
}

// BenchmarkRPCAcrossNodes measures a call made on one node to an object owned by
// another of the shared three-server cluster: a read turn (the entries of a
// one-row ledger), so the figure is the RPC's own cost, one caller at a time and
// 64 at once.
func BenchmarkRPCAcrossNodes(b *testing.B) {
	c := sharedCluster(b)
	id := benchNodes.Add(1)
	owner := startRuntime(b, c, 0, testConfig(fmt.Sprintf("bench-rpc-owner%d", id)))
	caller := startRuntime(b, c, 1, testConfig(fmt.Sprintf("bench-rpc-caller%d", id)))
	name := fmt.Sprintf("rpc-%d", id)
	if _, err := owner.add(context.Background(), name, 1); err != nil {
		b.Fatal(err)
	}
	stub := caller.ns.GetByName(name)
	for _, callers := range []int{1, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			call := func() bool {
				_, err := ledgerEntries.Call(context.Background(), stub)
				if err != nil {
					b.Error(err)
				}
				return err == nil
			}
			if callers == 1 {
				for range b.N {
					if !call() {
						return
					}
				}
				return
			}
			b.SetParallelism((callers + 1) / 2) // GOMAXPROCS 2 on the reference machine
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() && call() {
				}
			})
		})
	}
}
