// Package clustertest runs an app's in-process [objecttest.AppFunc] as the nodes of
// one cluster, so that tests written against one server run unchanged against a
// cluster: n embedded NATS servers (real, routed to each other, JetStream R3) in
// the test process, and n [objecttest.Server]s whose app, opened by the AppFunc
// through server.Open, joins the cluster as nodes n1..nN (server.JoinOnOpen,
// package clustermode). It links NATS, which package objecttest does not.
package clustertest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/warrenhq/warren/runtime/cluster"
	"github.com/warrenhq/warren/runtime/clustermode"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
	"github.com/warrenhq/warren/runtime/server"
)

// Cluster is a running cluster of in-process app nodes.
type Cluster struct {
	// Nodes are the app's nodes, n1 first. Each is an [objecttest.Server] of its
	// own: Stop, Kill or Restart one (it leaves the cluster and joins it again; its
	// NATS server keeps running), send a browser or a client to any.
	Nodes []*objecttest.Server

	nats   []*cluster.Server
	undo   []func()
	closed bool
}

// Start starts n NATS servers and then the n nodes of app one after another, each
// on a free 127.0.0.1 port and a data directory of its own; it returns when every
// node serves. The AppFunc must open its app with server.Open on the data directory
// it is given (Start fails the test if it does not, since the node would not be
// clustered). The caller must call [Cluster.Close].
func Start(t testing.TB, app objecttest.AppFunc, n int) *Cluster {
	t.Helper()
	c := &Cluster{}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	names := make([]string, n)
	for i := range names {
		names[i] = nodeName(i)
	}
	srvs, err := cluster.StartLoopbackCluster(t.TempDir(), names, objecttest.ClusterStartTimeout)
	if err != nil {
		t.Fatalf("clustertest: NATS servers: %v", err)
	}
	c.nats = srvs
	joins := &countingCluster{Cluster: clustermode.Cluster{JoinTimeout: objecttest.ClusterStartTimeout}}
	for i := range n {
		s := objecttest.NewApp(t, joins.check(app))
		c.Nodes = append(c.Nodes, s)
		c.undo = append(c.undo, server.JoinOnOpen(s.DataDir, joins,
			server.ClusterFlags{NATSURL: c.nats[i].ClientURL(), Node: nodeName(i), Advertise: s.Addr}))
	}
	for _, s := range c.Nodes {
		s.Start()
	}
	ok = true
	return c
}

// Close stops every node (last first), then the NATS servers.
func (c *Cluster) Close() {
	if c.closed {
		return
	}
	c.closed = true
	for i := len(c.Nodes) - 1; i >= 0; i-- {
		c.Nodes[i].Close()
	}
	for _, u := range c.undo {
		u()
	}
	for _, s := range c.nats {
		s.Shutdown()
	}
}

func nodeName(i int) string { return fmt.Sprintf("n%d", i+1) }

// countingCluster counts the joins, so that an AppFunc that does not go through
// server.Open (and so would serve unclustered) is caught.
type countingCluster struct {
	clustermode.Cluster
	joined atomic.Int64
}

func (c *countingCluster) Join(ctx context.Context, f server.ClusterFlags, cfg *object.Config, log *slog.Logger) (*server.Routing, func(), error) {
	r, leave, err := c.Cluster.Join(ctx, f, cfg, log)
	if err == nil {
		c.joined.Add(1)
	}
	return r, leave, err
}

func (c *countingCluster) check(app objecttest.AppFunc) objecttest.AppFunc {
	return func(dir string) (http.Handler, error) {
		before := c.joined.Load()
		h, err := app(dir)
		if err == nil && c.joined.Load() == before {
			if cl, ok := h.(interface{ Close() error }); ok {
				cl.Close()
			}
			return nil, fmt.Errorf("clustertest: the app on %s did not join the cluster: its AppFunc must open it with server.Open on the data directory it is given", dir)
		}
		return h, err
	}
}
