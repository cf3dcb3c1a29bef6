package cluster

import (
	"errors"
	"fmt"
)

var (
	// ErrFenced means a newer owner has fenced the object's log: this node's append
	// was rejected, so nothing of the batch is durable, and the object must be
	// dropped here (its local file may hold the rejected commit).
	ErrFenced = errors.New("cluster: fenced: a newer owner holds the object")

	// ErrIndeterminate means an append may or may not have landed (a timeout, a lost
	// connection): the batch's outcome is unknown to this node. It must not be
	// reported as "no effect". The object must be dropped; a restore shows which it
	// was.
	ErrIndeterminate = errors.New("cluster: append outcome unknown")

	// ErrLeaseExpired means this node's lease is not valid now (it could not renew it
	// in time, or another node declared it dead): it must not serve any object until
	// it has registered again.
	ErrLeaseExpired = errors.New("cluster: node lease expired")

	// ErrNameInUse means another live node registered the same node name.
	ErrNameInUse = errors.New("cluster: node name in use by a live node")

	// ErrUnsafeServer means a NATS server configuration was refused because it does
	// not fsync every write (sync_interval: always): with the default interval,
	// acknowledged writes can be lost on power loss (Jepsen, NATS 2.12.1).
	ErrUnsafeServer = errors.New("cluster: NATS JetStream must run with sync_interval: always")

	// ErrCorrupt means a restored database failed PRAGMA integrity_check, or a blob
	// of the log did not match its digest. Nothing was replaced.
	ErrCorrupt = errors.New("cluster: restored database is corrupt")

	// ErrInvalidConfig means a node's Config is refused as it is (a bad name, a lease
	// too short, ...): joining again with it cannot succeed.
	ErrInvalidConfig = errors.New("cluster: invalid configuration")

	// ErrConfigMismatch means the cluster's shared settings (lease TTL, replicas,
	// log shards) differ from this node's configuration.
	ErrConfigMismatch = errors.New("cluster: configuration differs from the cluster's")
)

// OwnedError reports that another live node owns the object: requests for it go
// there.
type OwnedError struct {
	Owner Claim  // the owner's claim
	Addr  string // the owner's advertised address, if known
}

func (e *OwnedError) Error() string {
	return fmt.Sprintf("cluster: object owned by node %s (epoch %d)", e.Owner.Node, e.Owner.Epoch)
}
