package cluster

import (
	"sync"
	"time"
	_ "unsafe" // go:linkname

	_ "github.com/nats-io/nats-server/v2/server" // the timers below are its variables
)

// Embedded servers run nats-server's Raft at half its default timers: the leader's
// heartbeat every 0.5 s (default 1 s) and a follower's election timeout drawn from
// 2-4.5 s (default 4-9 s), so the ratio of the timeout to the longest gap between
// heartbeats (two intervals) is the default's. A SIGKILLed server's streams and
// buckets (about a third of them when each node embeds one server) then have a new
// leader 2-5 s after the kill instead of 4-10 s: within the 5 s lease that frees its
// objects, where before an object of a stream it led waited for the election past
// the lease (the last failovers over issue 19's 10 s). Raft's safety does not depend
// on its timers; shorter ones only make an election on a starved follower likelier,
// which costs a moment without a leader, never a write.
//
// nats-server has no option for these timers (its own tests set the variables), so
// they are reached by go:linkname: the build fails if a nats-server upgrade renames
// them. They are process-wide and set once, before the first embedded server
// starts; an external NATS cluster (-nats-url) keeps its own.
var (
	//go:linkname raftHeartbeat github.com/nats-io/nats-server/v2/server.hbInterval
	raftHeartbeat time.Duration
	//go:linkname raftMinElection github.com/nats-io/nats-server/v2/server.minElectionTimeout
	raftMinElection time.Duration
	//go:linkname raftMaxElection github.com/nats-io/nats-server/v2/server.maxElectionTimeout
	raftMaxElection time.Duration
)

// The timers embedded servers run with.
const (
	embeddedHeartbeat   = 500 * time.Millisecond
	embeddedMinElection = 2 * time.Second
	embeddedMaxElection = 4500 * time.Millisecond
)

var setRaftTimers = sync.OnceFunc(func() {
	raftHeartbeat, raftMinElection, raftMaxElection = embeddedHeartbeat, embeddedMinElection, embeddedMaxElection
})
