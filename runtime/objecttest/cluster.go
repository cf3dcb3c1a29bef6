package objecttest

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// ClusterStartTimeout bounds the wait for every node of [StartCluster] to be
// healthy: their NATS servers must find each other and elect a JetStream leader.
var ClusterStartTimeout = 2 * time.Minute

// StartCluster runs n processes of the app binary bin as one cluster on 127.0.0.1
// (cluster mode with embedded NATS servers: -cluster-peers, -cluster-listen, -node
// n1..nN, -cluster-dir), args first, and waits until every node answers /healthz.
// It closes the nodes when the test ends. Each is a [Server] of its own: Kill one
// with SIGKILL, Start it again (it rejoins).
func StartCluster(t testing.TB, bin string, n int, args ...string) []*Server {
	t.Helper()
	return startCluster(t, bin, n, true, args)
}

// StartClusterUnmanaged is [StartCluster] for a harness that orders its own
// cleanup: the caller must Close every node.
func StartClusterUnmanaged(t testing.TB, bin string, n int, args ...string) []*Server {
	t.Helper()
	return startCluster(t, bin, n, false, args)
}

func startCluster(t testing.TB, bin string, n int, cleanup bool, args []string) []*Server {
	t.Helper()
	for attempt := 1; ; attempt++ {
		nodes, err := tryStartCluster(t, bin, n, args)
		if err == nil {
			for _, s := range nodes {
				if cleanup {
					t.Cleanup(s.Close)
				}
			}
			return nodes
		}
		taken := false
		for _, s := range nodes {
			taken = taken || portTaken(s.Output())
			s.Close()
		}
		if attempt == portAttempts || !taken {
			t.Fatalf("objecttest: %v", err)
		}
		t.Logf("objecttest: a port of the cluster was taken before a node bound it; again on other ports")
	}
}

// tryStartCluster starts the n nodes on ports free a moment ago and waits for
// them. On error, the nodes it returns are for the caller to close.
func tryStartCluster(t testing.TB, bin string, n int, args []string) ([]*Server, error) {
	t.Helper()
	routes := make([]string, n)
	for i := range routes {
		p, err := pickPort()
		if err != nil {
			return nil, err
		}
		routes[i] = fmt.Sprintf("127.0.0.1:%d", p)
	}
	nodes := make([]*Server, n)
	for i := range nodes {
		port, err := pickPort()
		if err != nil {
			return nil, err
		}
		s := &Server{t: t, bin: bin, DataDir: t.TempDir(), out: &syncBuffer{}, Addr: fmt.Sprintf("127.0.0.1:%d", port)}
		s.URL = "http://" + s.Addr
		s.args = append(append([]string{}, args...), "-node", fmt.Sprintf("n%d", i+1),
			"-cluster-peers", strings.Join(routes, ","), "-cluster-listen", routes[i],
			"-cluster-dir", filepath.Join(t.TempDir(), "nats"))
		nodes[i] = s
	}
	for _, s := range nodes {
		if err := s.spawn(); err != nil {
			return nodes, fmt.Errorf("start %s: %v", filepath.Base(bin), err)
		}
	}
	// A node that exits (a port taken) fails the start at once: the others
	// would wait for it until ClusterStartTimeout.
	anyExited, stop := make(chan struct{}), make(chan struct{})
	defer close(stop)
	var once sync.Once
	for _, s := range nodes {
		go func(exited <-chan struct{}) {
			select {
			case <-exited:
				once.Do(func() { close(anyExited) })
			case <-stop:
			}
		}(s.exited)
	}
	for i, s := range nodes {
		if err := waitHealthy(s.URL+"/healthz", anyExited, ClusterStartTimeout); err != nil {
			return nodes, fmt.Errorf("cluster node n%d: %v (a node exited or was not healthy); outputs:\n%s", i+1, err, outputs(nodes))
		}
	}
	return nodes, nil
}

// outputs is every node's output, each under its name.
func outputs(nodes []*Server) string {
	var b strings.Builder
	for i, s := range nodes {
		fmt.Fprintf(&b, "n%d:\n%s\n", i+1, s.Output())
	}
	return b.String()
}
