package server_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// fakeCluster records the flags Run passed it and refuses to join (no NATS here).
type fakeCluster struct{ got *server.ClusterFlags }

func (f fakeCluster) Join(ctx context.Context, fl server.ClusterFlags, cfg *object.Config, log *slog.Logger) (*server.Routing, func(), error) {
	*f.got = fl
	return nil, nil, io.ErrUnexpectedEOF
}

// The cluster flags: bad combinations are usage errors that name the flags to fix,
// a binary without cluster mode refuses them, and good ones reach App.Cluster with
// the defaults filled in.
func TestRunClusterFlags(t *testing.T) {
	data := t.TempDir()
	run := func(app server.App, args ...string) error {
		return server.Run(context.Background(), app, append([]string{"-addr", "127.0.0.1:0", "-data", data, "-log-level", "error"}, args...), io.Discard)
	}
	var got server.ClusterFlags
	clustered := server.App{Name: "c", Cluster: fakeCluster{&got}}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-node", "n1"}, "needs -cluster-peers (embedded NATS servers) or -nats-url"},
		{[]string{"-cluster-peers", "127.0.0.1:6001", "-nats-url", "nats://x", "-node", "n1"}, "exclude each other"},
		{[]string{"-cluster-peers", "127.0.0.1:6001", "-cluster-listen", "127.0.0.1:6001"}, "needs -node"},
		{[]string{"-cluster-peers", "127.0.0.1:6001", "-node", "n1"}, "needs -cluster-listen"},
		{[]string{"-nats-url", "nats://x", "-node", "n1", "-cluster-dir", "d"}, "are for the embedded NATS server"},
		{[]string{"-cluster-peers", "nohost", "-cluster-listen", "127.0.0.1:6001", "-node", "n1"}, `-cluster-peers: "nohost"`},
		{[]string{"-nats-url", "nats://x", "-node", "n1", "-advertise", "noport"}, `-advertise "noport"`},
		{[]string{"-addr", "0.0.0.0:0", "-nats-url", "nats://x", "-node", "n1"}, "say with -advertise"},
	} {
		err := run(clustered, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "usage") {
			t.Errorf("%q: %v, want a usage error with %q", c.args, err, c.want)
		}
	}
	if err := run(server.App{Name: "plain"}, "-nats-url", "nats://x", "-node", "n1"); err == nil || !strings.Contains(err.Error(), "built without cluster mode") {
		t.Errorf("a binary without cluster mode: %v", err)
	}
	// The admin API is served in cluster mode (its history routes; the others answer
	// 501): an admin token is no usage error, the node goes on to join.
	t.Setenv("WARREN_ADMIN_TOKEN", "0123456789abcdef0123")
	if err := run(clustered, "-nats-url", "nats://x", "-node", "n1"); err == nil || strings.HasPrefix(err.Error(), "usage") || strings.Contains(err.Error(), "admin API") {
		t.Errorf("admin in cluster mode: %v, want the join's error", err)
	}
	t.Setenv("WARREN_ADMIN_TOKEN", "")
	err := run(clustered, "-cluster-peers", "127.0.0.1:6001, 127.0.0.1:6002", "-cluster-listen", "127.0.0.1:6002", "-node", "n2", "-region", "eu")
	if err == nil || !strings.Contains(err.Error(), "cluster: unexpected EOF") {
		t.Fatalf("join error: %v", err)
	}
	if len(got.Peers) != 2 || got.Node != "n2" || got.Region != "eu" || got.Dir != data+"-nats" || !strings.HasPrefix(got.Advertise, "127.0.0.1:") || strings.HasSuffix(got.Advertise, ":0") || got.History != 0 {
		t.Fatalf("flags reached Join as %+v", got)
	}
	// -history sets the retention of the cluster's history; off keeps none.
	for in, want := range map[string]time.Duration{"3d": 72 * time.Hour, "off": -1} {
		if err := run(clustered, "-nats-url", "nats://x", "-node", "n1", "-history", in); err == nil || !strings.Contains(err.Error(), "cluster: unexpected EOF") {
			t.Fatalf("-history %s: %v", in, err)
		}
		if got.History != want {
			t.Errorf("-history %s reached Join as %v, want %v", in, got.History, want)
		}
	}
	if err := run(clustered, "-nats-url", "nats://x", "-node", "n1", "-history", "forever"); err == nil || !strings.HasPrefix(err.Error(), "usage") {
		t.Errorf("-history forever in cluster mode: %v, want a usage error", err)
	}
}
