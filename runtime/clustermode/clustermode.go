// Package clustermode gives an app binary cluster mode: the -cluster-peers / -nats-url
// flags of server.Run (server.ClusterFlags) start an embedded NATS server or connect to
// an external cluster, join it (runtime/cluster) and route requests between the nodes
// (server.Routing). It is the only package of an app that links NATS; an app without
// it (server.App.Cluster nil) refuses the cluster flags.
//
//	server.Main(clustermode.With(app))
package clustermode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/warrenhq/warren/runtime/cluster"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// With returns app with cluster mode enabled (server.App.Cluster).
func With(app server.App) server.App {
	app.Cluster = Cluster{}
	return app
}

// Cluster implements server.Cluster with runtime/cluster.
type Cluster struct {
	// JoinTimeout bounds the wait for the cluster at start: the other nodes' NATS
	// servers, a JetStream meta leader, the cluster's buckets. Default
	// DefaultJoinTimeout.
	JoinTimeout time.Duration
	// LeaseTTL is the node's lease (cluster.Config.LeaseTTL): it must be the same on
	// every node. Default: the cluster's recorded lease, cluster.DefaultLeaseTTL (5 s)
	// for a new cluster. Tests shorten it to fail over faster.
	LeaseTTL time.Duration
}

// Join implements server.Cluster: it starts the embedded NATS server (-cluster-peers)
// or connects to -nats-url, joins the cluster as f.Node, attaches the node to cfg
// and returns the server's Routing (Locate is the node's, the token the cluster's,
// RetryFor the lease and a second).
func (c Cluster) Join(ctx context.Context, f server.ClusterFlags, cfg *object.Config, log *slog.Logger) (*server.Routing, func(), error) {
	node, nc, stopNATS, err := c.joinNode(ctx, f, log)
	if err != nil {
		return nil, nil, err
	}
	tctx, cancel := context.WithTimeout(ctx, c.joinTimeout())
	defer cancel()
	token, err := routeToken(tctx, nc)
	if err != nil {
		node.Close()
		stopNATS()
		return nil, nil, err
	}
	node.Attach(cfg)
	leave := func() {
		if err := node.Close(); err != nil {
			log.Warn("cluster: leaving", "node", f.Node, "err", err)
		}
		stopNATS()
	}
	// A request for an object of a node killed without leaving is held until the
	// node's lease ran out and another node claimed it, rather than refused.
	return &server.Routing{Node: f.Node, Token: token, Locate: node.Locate, RetryFor: node.LeaseTTL() + time.Second}, leave, nil
}

// DefaultJoinTimeout is Cluster.JoinTimeout's default.
const DefaultJoinTimeout = 2 * time.Minute

func (c Cluster) joinTimeout() time.Duration {
	if c.JoinTimeout <= 0 {
		return DefaultJoinTimeout
	}
	return c.JoinTimeout
}

// joinNode connects (connect) and joins the cluster as f.Node within JoinTimeout,
// with the settings every node of it shares (LeaseTTL). A join that fails for a
// reason that can pass is tried again within JoinTimeout: while another live lease
// holds f.Node (the node's own previous process, killed less than a lease ago), and
// when JetStream answers slowly or not at all for a while (a request timed out, a
// compare-and-set lost to a write in flight, a stream electing its leader). Only a
// configuration the cluster refuses (cluster.ErrInvalidConfig, ErrConfigMismatch)
// fails at once. stopNATS closes the connection and the embedded server; close the
// node first.
func (c Cluster) joinNode(ctx context.Context, f server.ClusterFlags, log *slog.Logger) (node *cluster.Node, nc *nats.Conn, stopNATS func(), err error) {
	jctx, cancel := context.WithTimeout(ctx, c.joinTimeout())
	defer cancel()
	if nc, stopNATS, err = connect(f, log); err != nil {
		return nil, nil, nil, err
	}
	cfg := cluster.Config{Name: f.Node, Addr: f.Advertise, Region: f.Region, LeaseTTL: c.LeaseTTL, HistoryRetention: f.History, Logger: log}
	for {
		node, err = clusterJoin(jctx, nc, cfg)
		if err == nil || errors.Is(err, cluster.ErrInvalidConfig) || errors.Is(err, cluster.ErrConfigMismatch) || jctx.Err() != nil {
			break
		}
		if errors.Is(err, cluster.ErrNameInUse) {
			// Most likely this node's previous process, killed: its lease ends within
			// the lease's TTL. A node restarted at once waits for that, not exits.
			log.Warn("cluster: node name in use by a live node: waiting for its lease to end", "node", f.Node, "err", err)
		} else {
			log.Warn("cluster: join failed: trying again", "node", f.Node, "err", err)
		}
		select {
		case <-jctx.Done():
		case <-time.After(joinRetry):
			continue
		}
		break
	}
	if err != nil {
		stopNATS()
		return nil, nil, nil, err
	}
	return node, nc, stopNATS, nil
}

// clusterJoin is cluster.Join (a variable for tests, which make it fail).
var clusterJoin = cluster.Join

// joinRetry is how often joinNode tries again.
const joinRetry = 500 * time.Millisecond

// connect starts the embedded server and connects to it in process, or connects to
// the external cluster. stop closes the connection and stops the embedded server.
func connect(f server.ClusterFlags, log *slog.Logger) (nc *nats.Conn, stop func(), err error) {
	opts := []nats.Option{nats.Name("warren " + f.Node), nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("cluster: NATS disconnected", "err", err)
			}
		})}
	if f.NATSURL != "" {
		nc, err := nats.Connect(f.NATSURL, opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("-nats-url %s: %w", f.NATSURL, err)
		}
		return nc, nc.Close, nil
	}
	host, port, err := net.SplitHostPort(f.Listen)
	if err != nil {
		return nil, nil, err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 {
		return nil, nil, fmt.Errorf("-cluster-listen %s: want a port number", f.Listen)
	}
	srv, err := cluster.StartServer(cluster.ServerConfig{Name: f.Node, StoreDir: f.Dir, Host: host, ClusterPort: p, Routes: f.Peers})
	if err != nil {
		return nil, nil, err
	}
	log.Info("cluster: NATS server", "node", f.Node, "client", srv.ClientURL(), "routes", srv.ClusterAddr(), "store", f.Dir)
	if nc, err = srv.Connect(opts...); err != nil {
		srv.Shutdown()
		return nil, nil, err
	}
	return nc, func() { nc.Close(); srv.Shutdown() }, nil
}
