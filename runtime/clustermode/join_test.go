package clustermode_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/cluster"
	"github.com/warrenhq/warren/runtime/clustermode"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// A node restarted at once after it was killed finds its name held by its previous
// process's lease: it waits for that lease to end and joins, instead of exiting
// with "node name in use" (which made a restarted process fail until its lease ran
// out, 10 s by default).
func TestJoinWaitsForThePreviousLease(t *testing.T) {
	servers := startServers(t)
	const lease = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, err := servers[0].Connect()
	if err != nil {
		t.Fatal(err)
	}
	old, err := cluster.Join(ctx, nc, cluster.Config{Name: "n1", Addr: "127.0.0.1:1", LeaseTTL: lease})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	nc.Close() // the process dies: its lease is neither renewed nor deleted

	c := clustermode.Cluster{LeaseTTL: lease, JoinTimeout: time.Minute}
	var cfg object.Config
	start := time.Now()
	r, leave, err := c.Join(ctx, server.ClusterFlags{NATSURL: servers[1].ClientURL(), Node: "n1", Advertise: "127.0.0.1:2"},
		&cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("join while the previous lease runs: %v", err)
	}
	defer leave()
	if r.Node != "n1" || time.Since(start) > lease+10*time.Second {
		t.Fatalf("joined as %q after %v", r.Node, time.Since(start))
	}
}

// The last node of a cluster to shut down has no JetStream quorum left: its
// goodbye (deleting its lease) cannot be acknowledged. Leaving is still quick:
// it took more than 10 s (the lease delete waited RequestTimeout), so a process
// stopped last was killed by supervisors and tests ("ignored SIGTERM for 10s").
func TestLastNodeLeavesQuickly(t *testing.T) {
	var routes []string
	for range 3 {
		routes = append(routes, freeAddr(t))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := clustermode.Cluster{JoinTimeout: time.Minute}
	leaves := make([]func(), 3)
	errs := make(chan error, 3)
	for i := range 3 {
		go func() {
			var cfg object.Config
			f := server.ClusterFlags{Peers: routes, Listen: routes[i], Node: fmt.Sprintf("n%d", i+1),
				Advertise: fmt.Sprintf("127.0.0.1:%d", 10+i), Dir: filepath.Join(t.TempDir(), "nats")}
			_, leave, err := c.Join(context.Background(), f, &cfg, log)
			leaves[i] = leave
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		start := time.Now()
		leaves[i]()
		t.Logf("n%d left in %v", i+1, time.Since(start).Round(time.Millisecond))
	}
	start := time.Now()
	leaves[2]()
	d := time.Since(start)
	t.Logf("n3 (the last) left in %v", d.Round(time.Millisecond))
	if d > 5*time.Second {
		t.Fatalf("the last node took %v to leave, want under 5 s", d.Round(time.Millisecond))
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
