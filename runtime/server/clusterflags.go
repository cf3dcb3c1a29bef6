package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// ClusterFlags are Run's cluster-mode flags, checked (see check). With none of them
// set, Run serves as a single process and nothing of cluster mode runs.
type ClusterFlags struct {
	// Peers (-cluster-peers) are the route addresses (host:port) of the NATS servers
	// embedded in the cluster's nodes, this node's own included or not: the same
	// list on every node. Listen (-cluster-listen) is this node's route address.
	Peers  []string
	Listen string
	// NATSURL (-nats-url) is an external NATS cluster instead (R3, sync_interval:
	// always on every server).
	NATSURL string
	// Node (-node) names this node; Region (-region) labels it for placement hints.
	Node, Region string
	// Advertise (-advertise) is the host:port other nodes reach this node's HTTP
	// server at. Default: the listen address, when it names a host.
	Advertise string
	// Dir (-cluster-dir) is the embedded NATS server's store. Default: the data
	// directory's path with -nats appended.
	Dir string
	// History (-history) is how long the objects' logs keep their history for
	// point-in-time recovery: 0 for the cluster's default (7 days), negative for
	// none.
	History time.Duration
}

// Cluster starts cluster mode for Run; package clustermode implements it. A binary
// whose App has none refuses the cluster flags.
type Cluster interface {
	// Join connects this node to the cluster f describes (starting the embedded NATS
	// server, or connecting to an external one), and sets the runtime's seams in
	// cfg. The Routing goes into the server's Config; leave, called after the runtime
	// closed, leaves the cluster and stops what Join started.
	Join(ctx context.Context, f ClusterFlags, cfg *object.Config, log *slog.Logger) (r *Routing, leave func(), err error)
}

// ClusterImporter is a Cluster that can move a single-node data directory into the
// cluster: `<app> [cluster flags] cluster import DATA_DIR` (clustermode's does).
type ClusterImporter interface {
	// Import imports every object of dataDir, reporting each on out. It can be run
	// again after an interruption: what was imported already is checked, not
	// written again.
	Import(ctx context.Context, f ClusterFlags, dataDir string, out io.Writer, log *slog.Logger) error
}

// clusterCommand runs `cluster import DATA_DIR`.
// dataDir is the node's own (-data), for the default -cluster-dir.
func clusterCommand(ctx context.Context, app App, f ClusterFlags, args []string, out io.Writer, level, dataDir string) error {
	if len(args) != 2 || args[0] != "import" {
		return fmt.Errorf("%w: want %s [cluster flags] cluster import DATA_DIR", errUsage, app.Name)
	}
	imp, ok := app.Cluster.(ClusterImporter)
	if !ok {
		return fmt.Errorf("%w: this %s binary was built without cluster mode (App.Cluster)", errUsage, app.Name)
	}
	if err := f.check(nil, dataDir); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if st, err := os.Stat(args[1]); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: cluster import: %s is not a data directory", errUsage, args[1])
	}
	var lv slog.Level
	lv.UnmarshalText([]byte(level)) //nolint:errcheck // checked by Run
	return imp.Import(ctx, f, args[1], out, slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: lv})))
}

// clusterFlagSet defines the cluster flags on fl.
func clusterFlagSet(fl *flag.FlagSet) func() ClusterFlags {
	peers := fl.String("cluster-peers", os.Getenv("WARREN_CLUSTER_PEERS"), "cluster mode with embedded NATS servers: comma-separated route `addresses` (host:port) of\nevery node's server, the same list on each node; needs -cluster-listen, -node (env WARREN_CLUSTER_PEERS)")
	listen := fl.String("cluster-listen", os.Getenv("WARREN_CLUSTER_LISTEN"), "this node's embedded NATS route `address` (host:port), one of -cluster-peers (env WARREN_CLUSTER_LISTEN)")
	natsURL := fl.String("nats-url", os.Getenv("WARREN_NATS_URL"), "cluster mode on an external NATS cluster at this `URL` (nats://host:4222,...); its servers\nmust run JetStream with sync_interval: always, three or more for R3 (env WARREN_NATS_URL)")
	node := fl.String("node", os.Getenv("WARREN_NODE"), "this node's `name` in the cluster: 1 to 64 of [A-Za-z0-9_-] (env WARREN_NODE)")
	region := fl.String("region", os.Getenv("WARREN_REGION"), "this node's `region` label, for placement hints (env WARREN_REGION)")
	advertise := fl.String("advertise", os.Getenv("WARREN_ADVERTISE"), "`host:port` other nodes reach this node's HTTP server at (env WARREN_ADVERTISE;\ndefault: -addr when it names a host)")
	dir := fl.String("cluster-dir", os.Getenv("WARREN_CLUSTER_DIR"), "`directory` of the embedded NATS server's store (env WARREN_CLUSTER_DIR;\ndefault: the data directory's path with -nats appended)")
	return func() ClusterFlags {
		return ClusterFlags{Peers: splitList(*peers), Listen: *listen, NATSURL: *natsURL, Node: *node,
			Region: *region, Advertise: *advertise, Dir: *dir}
	}
}

// Enabled reports whether any cluster flag is set.
func (f ClusterFlags) Enabled() bool {
	return len(f.Peers) > 0 || f.Listen != "" || f.NATSURL != "" || f.Node != "" || f.Region != "" || f.Advertise != "" || f.Dir != ""
}

// check validates f for a node listening on ln (nil: one that serves no HTTP, an
// import) with data directory dataDir, and fills in the defaults. Every error names
// the flags to fix.
func (f *ClusterFlags) check(ln net.Addr, dataDir string) error {
	switch {
	case len(f.Peers) > 0 && f.NATSURL != "":
		return errors.New("-cluster-peers (embedded NATS) and -nats-url (external NATS) exclude each other")
	case len(f.Peers) == 0 && f.NATSURL == "":
		return errors.New("cluster mode needs -cluster-peers (embedded NATS servers) or -nats-url (an external NATS cluster)")
	case f.Node == "":
		return errors.New("cluster mode needs -node, this node's name")
	case len(f.Peers) > 0 && f.Listen == "":
		return errors.New("-cluster-peers needs -cluster-listen, this node's route address (one of the peers)")
	case len(f.Peers) == 0 && (f.Listen != "" || f.Dir != ""):
		return errors.New("-cluster-listen and -cluster-dir are for the embedded NATS server (-cluster-peers), not -nats-url")
	}
	if f.Listen != "" {
		if _, _, err := net.SplitHostPort(f.Listen); err != nil {
			return fmt.Errorf("-cluster-listen %q: %v", f.Listen, err)
		}
	}
	for _, p := range f.Peers {
		if _, _, err := net.SplitHostPort(p); err != nil {
			return fmt.Errorf("-cluster-peers: %q: %v", p, err)
		}
	}
	if f.Advertise == "" && ln != nil {
		host, _, _ := net.SplitHostPort(ln.String())
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			return fmt.Errorf("-addr %s listens on every interface: say with -advertise which host:port other nodes reach this one at", ln)
		}
		f.Advertise = ln.String()
	} else if _, _, err := net.SplitHostPort(f.Advertise); f.Advertise != "" && err != nil {
		return fmt.Errorf("-advertise %q: %v", f.Advertise, err)
	}
	if f.Dir == "" && len(f.Peers) > 0 {
		f.Dir = dataDir + "-nats"
	}
	return nil
}

// joinCluster joins app's cluster before its runtime opens: it sets the seams in
// app.Runtime and the routing in app.Server, and returns what leaves the cluster.
func joinCluster(ctx context.Context, app *App, f ClusterFlags, ln net.Addr, log *slog.Logger) (func(), error) {
	if app.Cluster == nil {
		return nil, fmt.Errorf("%w: this %s binary was built without cluster mode (App.Cluster)", errUsage, app.Name)
	}
	if err := f.check(ln, app.Runtime.DataDir); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	r, leave, err := app.Cluster.Join(ctx, f, &app.Runtime, log)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	app.Server.Routing = r
	log.Info("cluster node", "node", f.Node, "region", f.Region, "advertise", f.Advertise, "peers", f.Peers, "nats", f.NATSURL, "nats-dir", f.Dir)
	return leave, nil
}
