package clustermode_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/warrenhq/warren/runtime/cluster"
	"github.com/warrenhq/warren/runtime/clustermode"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// joinLease is the lease of the cluster joinServers starts.
const joinLease = 2 * time.Second

// joinCluster is the three-server cluster the join tests share (starting one takes
// seconds); TestMain stops it.
var joinCluster struct {
	once    sync.Once
	dir     string
	servers []*cluster.Server
	err     error
}

func joinServers(t *testing.T) []*cluster.Server {
	t.Helper()
	joinCluster.once.Do(func() {
		if joinCluster.dir, joinCluster.err = os.MkdirTemp("", "warren-clustermode-test-"); joinCluster.err == nil {
			joinCluster.servers, joinCluster.err = cluster.StartLoopbackCluster(joinCluster.dir, []string{"s0", "s1", "s2"}, time.Minute)
		}
	})
	if joinCluster.err != nil {
		t.Fatal(joinCluster.err)
	}
	return joinCluster.servers
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, s := range joinCluster.servers {
		s.Shutdown()
	}
	if joinCluster.dir != "" {
		os.RemoveAll(joinCluster.dir)
	}
	os.Exit(code)
}

// A node restarted at once after it was killed finds its name held by its previous
// process's lease: it waits for that lease to end and joins, instead of exiting
// with "node name in use" (which made a restarted process fail until its lease ran
// out, 10 s by default).
func TestJoinWaitsForThePreviousLease(t *testing.T) {
	servers := joinServers(t)
	const lease = joinLease
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

// A join that fails for a passing reason (JetStream slow to answer: chaos runs saw
// a restarted node exit with "context deadline exceeded" and "key revision
// mismatch" from its registration) is tried again within JoinTimeout; one the
// cluster refuses for good (a mismatched lease) fails at once. Here the first two
// attempts get cluster.Join's real error for JetStream not answering in time.
func TestJoinRetriesTransientErrors(t *testing.T) {
	servers := joinServers(t)
	attempts := 0
	defer clustermode.SetClusterJoin(func(ctx context.Context, nc *nats.Conn, cfg cluster.Config) (*cluster.Node, error) {
		attempts++
		if attempts <= 2 {
			timedOut, cancel := context.WithTimeout(ctx, time.Millisecond)
			defer cancel()
			<-timedOut.Done()
			return cluster.Join(timedOut, nc, cfg)
		}
		return cluster.Join(ctx, nc, cfg)
	})()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := clustermode.Cluster{LeaseTTL: joinLease, JoinTimeout: time.Minute}
	var cfg object.Config
	_, leave, err := c.Join(context.Background(), server.ClusterFlags{NATSURL: servers[0].ClientURL(), Node: "flaky", Advertise: "127.0.0.1:3"}, &cfg, log)
	if err != nil {
		t.Fatalf("join after %d attempts: %v", attempts, err)
	}
	leave()
	if attempts != 3 {
		t.Fatalf("joined at attempt %d, want 3", attempts)
	}

	attempts = 10 // no more injected failures
	c.LeaseTTL = joinLease + time.Second
	start := time.Now()
	_, _, err = c.Join(context.Background(), server.ClusterFlags{NATSURL: servers[0].ClientURL(), Node: "other", Advertise: "127.0.0.1:4"}, &cfg, log)
	if !errors.Is(err, cluster.ErrConfigMismatch) || time.Since(start) > 10*time.Second {
		t.Fatalf("join with another lease: %v after %v, want ErrConfigMismatch at once", err, time.Since(start).Round(time.Millisecond))
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
