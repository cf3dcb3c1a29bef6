package cluster

import (
	"context"
	"fmt"
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
