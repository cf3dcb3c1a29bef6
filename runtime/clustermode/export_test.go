package clustermode

import (
	"context"

	"github.com/nats-io/nats.go"

	"github.com/warrenhq/warren/runtime/cluster"
)

// SetClusterJoin replaces cluster.Join for the test; restore puts it back.
func SetClusterJoin(f func(context.Context, *nats.Conn, cluster.Config) (*cluster.Node, error)) (restore func()) {
	old := clusterJoin
	clusterJoin = f
	return func() { clusterJoin = old }
}
