package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
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
				if err := obj.appendPages(context.Background(), page); err != nil {
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
