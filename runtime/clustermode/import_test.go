package clustermode_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/cluster"
	"github.com/warrenhq/warren/runtime/clustermode"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

type counter struct{ st *object.State }

func register(t *testing.T, rt *object.Runtime) *object.Namespace[counter] {
	t.Helper()
	ns, err := object.Register(rt, "counter", func(ctx context.Context, st *object.State) (*counter, error) { return &counter{st}, nil })
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// startServers starts three embedded NATS servers routed to each other.
func startServers(t *testing.T) []*cluster.Server {
	t.Helper()
	out, err := cluster.StartLoopbackCluster(t.TempDir(), []string{"s0", "s1", "s2"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range out {
		t.Cleanup(s.Shutdown)
	}
	return out
}

// `<app> cluster import DATA_DIR` moves a single-node data directory into a cluster:
// every object reads back the same on a cluster node, and running it again finds
// everything present and writes nothing.
func TestClusterImport(t *testing.T) {
	dir := t.TempDir()
	rt, err := object.New(object.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ns := register(t, rt)
	ctx := context.Background()
	for i := range 5 {
		err := ns.RunLocal(ctx, ns.GetByName(fmt.Sprintf("c%d", i)), func(ctx context.Context, c *counter) error {
			return object.PutJSON(c.st.Storage(), "n", 40+i)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	rt.Close()

	servers := startServers(t)
	// A lease other than the default, shared by every node: the import joins with the
	// same settings as a node of the app (it joined with the default and so recorded
	// settings the reader's Join below refused).
	const lease = 3 * time.Second
	app := server.App{Name: "t", Cluster: clustermode.Cluster{LeaseTTL: lease}}
	run := func() string {
		var out bytes.Buffer
		err := server.Run(ctx, app, []string{"-log-level", "error", "-data", t.TempDir(), "-nats-url", servers[0].ClientURL(), "-node", "importer", "cluster", "import", dir}, &out)
		if err != nil {
			t.Fatalf("cluster import: %v\n%s", err, out.String())
		}
		return out.String()
	}
	if out := run(); strings.Count(out, "imported counter/") != 5 || !strings.Contains(out, "5 objects: 5 imported") {
		t.Fatalf("first import:\n%s", out)
	}
	if out := run(); strings.Count(out, "present  counter/") != 5 {
		t.Fatalf("second import:\n%s", out)
	}

	nc, err := servers[1].Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	jctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	node, err := cluster.Join(jctx, nc, cluster.Config{Name: "reader", Addr: "reader.test:80", LeaseTTL: lease})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	cfg := object.Config{DataDir: t.TempDir()}
	node.Attach(&cfg)
	crt, err := object.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer crt.Close()
	cns := register(t, crt)
	for i := range 5 {
		var n int
		err := cns.RunLocal(ctx, cns.GetByName(fmt.Sprintf("c%d", i)), func(ctx context.Context, c *counter) error {
			var err error
			n, _, err = object.GetJSON[int](c.st.Storage(), "n")
			return err
		})
		if err != nil || n != 40+i {
			t.Fatalf("c%d on a cluster node: %d, %v; want %d", i, n, err, 40+i)
		}
	}
}
