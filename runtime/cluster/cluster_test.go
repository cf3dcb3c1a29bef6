package cluster

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// The tests run against three embedded NATS servers in this test binary, clustered
// by routes on 127.0.0.1 (free ports picked at start), R3, sync_interval: always,
// shared by every test (forming a JetStream cluster takes seconds). Tests keep apart
// by node names and object IDs of their own.

const (
	testLeaseTTL    = 4 * time.Second
	testLeaseMargin = time.Second
)

// testCluster is a set of clustered embedded servers.
type testCluster struct {
	servers []*Server
}

var shared struct {
	once sync.Once
	c    *testCluster
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childServerEnv); spec != "" {
		runChildServer(spec) // elections_test.go
	}
	code := m.Run()
	if shared.c != nil {
		shared.c.shutdown()
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// sharedCluster returns the test binary's three-server cluster, starting it on first
// use.
func sharedCluster(t testing.TB) *testCluster {
	t.Helper()
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "warren-cluster-test-")
		if shared.err == nil {
			shared.c, shared.err = startCluster(shared.dir, 3)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.c
}

// startCluster starts n routed servers under dir.
func startCluster(dir string, n int) (*testCluster, error) {
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("s%d", i+1))
	}
	// A shared CI machine under load (20 on 2 cores seen) took more than the
	// default 10 s to open the listeners.
	servers, err := StartLoopbackCluster(dir, names, time.Minute)
	if err != nil {
		return nil, err
	}
	return &testCluster{servers: servers}, nil
}

func (c *testCluster) shutdown() {
	for _, s := range c.servers {
		s.Shutdown()
	}
}

// testConfig is a node configuration every node of the shared cluster can use.
func testConfig(name string) Config {
	return Config{Name: name, Addr: name + ".test:80", LeaseTTL: testLeaseTTL, LeaseMargin: testLeaseMargin, LogShards: 2,
		RequestTimeout: 30 * time.Second} // generous: CI machines are shared
}

// join starts a node connected to server i of c, closed when the test ends.
func join(t testing.TB, c *testCluster, i int, cfg Config) *Node {
	t.Helper()
	nc, err := c.servers[i%len(c.servers)].Connect()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n, err := Join(ctx, nc, cfg)
	if err != nil {
		nc.Close()
		t.Fatalf("join %s: %v", cfg.Name, err)
	}
	t.Cleanup(func() {
		n.Close() // leaves, so a later test may claim what it owned; fails harmlessly for a tombstoned node
		nc.Close()
	})
	return n
}

// joinWithClock is join with a manual clock, which the node's lease is judged on.
func joinWithClock(t testing.TB, c *testCluster, i int, name string) (*Node, *manualClock) {
	t.Helper()
	clock := &manualClock{}
	cfg := testConfig(name)
	cfg.Clock = clock
	return join(t, c, i, cfg), clock
}

// joinError is the error of a Join through server i that is expected to fail.
func joinError(t testing.TB, c *testCluster, i int, cfg Config) error {
	t.Helper()
	nc, err := c.servers[i%len(c.servers)].Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	n, err := Join(testContext(t), nc, cfg)
	if err == nil {
		n.Close()
	}
	return err
}

// pauseRenewals stops a node renewing its lease, as a paused process would, without
// leaving: its key expires after the TTL.
func pauseRenewals(n *Node) {
	n.stop()
	<-n.done
}

// manualClock is a Clock that moves only when told.
type manualClock struct {
	mu  sync.Mutex
	now time.Duration
}

func (c *manualClock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now += d
	c.mu.Unlock()
}

// waitFor polls cond every 50 ms until it holds, failing the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
