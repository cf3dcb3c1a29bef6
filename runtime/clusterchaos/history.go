// Package clusterchaos tests a Warren cluster under faults the way Jepsen tests a
// database (issue 20): clients drive adds and reads on many objects through random
// nodes, a nemesis kills and freezes node processes, and after healing the checkers
// verify the recorded history: every acknowledged add present, every failed add
// absent, each object's history linearizable (porcupine), every database intact.
//
// The package holds the bookkeeping and the checkers; the chaos-tagged test of this
// directory (TestChaosCluster, run by `make cluster-chaos`) runs three node
// processes of a small set app against them. Only processes the harness started
// are signalled, by PID.
//
// The logs are read with nats.go as they grow ([Capture]): epochs never go back in
// any object's log ([CheckLog]); the nodes record every batch they served
// ([Instrument]), and no batch of an instance began after a newer instance's EPOCH
// record ([CheckServed]). Partitions need root and iptables ([Partitioner]).
//
// Not covered yet (issue 20): goroutine leaks inside the node processes (the
// harness's own are checked), integrity through the cluster's restore path (the
// nodes' local files are checked), power loss.
package clusterchaos

import (
	"sort"
	"sync"
	"time"
)

// Outcome is what a client learned of one operation.
type Outcome int

const (
	// OK: the cluster acknowledged the operation (200).
	OK Outcome = iota
	// Failed: the cluster answered that the operation had no effect (421, 503, 429,
	// 4xx): an add must not be present.
	Failed
	// Indeterminate: no answer, or one that leaves the effect open (500, 502, 504, a
	// timeout, a reset connection): an add may or may not be present.
	Indeterminate
)

func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Failed:
		return "failed"
	default:
		return "indeterminate"
	}
}

// Kind is an operation's kind.
type Kind int

const (
	Add  Kind = iota // add one element to an object's set
	Read             // read an object's whole set
)

// Op is one recorded operation. Times are wall-clock (one host: times from the
// harness and from the nodes are comparable).
type Op struct {
	Client  int
	Object  string
	Kind    Kind
	Elem    string // Add: the element
	Entry   string // the node the request was sent to
	Served  string // the node that served it, when it answered
	Key     string // the object's cluster key, when it answered
	Call    time.Time
	Return  time.Time
	Outcome Outcome
	Set     []string // Read, OK: the elements read, sorted
	Err     string   // Failed, Indeterminate: what the client saw
}

// Fault is one nemesis action on a node.
type Fault struct {
	// Kind: "kill" (SIGKILL, restart), "pause" (SIGSTOP, then SIGCONT), "leader"
	// (SIGKILL and restart of the node leading an object's log stream) or
	// "partition" (the node cut off from the others, then healed).
	Kind  string
	Node  string
	PID   int
	Start time.Time // the signal's time
	End   time.Time // the node healthy again (kill), SIGCONT sent (pause), healed (partition)
}

// History records operations and faults from many goroutines.
type History struct {
	mu     sync.Mutex
	ops    []Op
	faults []Fault
}

// Record adds a completed operation.
func (h *History) Record(op Op) {
	if op.Kind == Read {
		sort.Strings(op.Set)
	}
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// Fault adds a nemesis action.
func (h *History) Fault(f Fault) {
	h.mu.Lock()
	h.faults = append(h.faults, f)
	h.mu.Unlock()
}

// Ops returns a copy of the operations recorded so far.
func (h *History) Ops() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Op(nil), h.ops...)
}

// Faults returns a copy of the faults recorded so far.
func (h *History) Faults() []Fault {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Fault(nil), h.faults...)
}
