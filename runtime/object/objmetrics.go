package object

import (
	"container/heap"
	"encoding/hex"
	"sort"
	"sync"
	"time"
)

// Per-object metrics are kept for at most defaultMetricsObjects objects (bounded
// memory and label cardinality): when the table is full, a new object replaces the
// one with the fewest turns, so busy objects stay. Evicting an object from memory
// does not drop its metrics; deleting it does.

const (
	defaultMetricsObjects = 1024
	recentBatches         = 20 // batches remembered per object, for the inspector
)

type objectMetrics struct {
	mu  sync.Mutex
	max int
	m   map[wakeKey]*objectStat
	// byTurns orders the entries of m by turns, fewest first (a heap), so that a new
	// object replaces the least busy one in O(log max) rather than a scan of m.
	byTurns statHeap
}

type objectStat struct {
	key                    wakeKey
	at                     int // index in objectMetrics.byTurns
	name                   string
	turns, failed, commits int64
	received, sent         int64
	rowsRead, rowsWritten  int64
	commitTime             time.Duration
	last                   time.Time
	recent                 [recentBatches]BatchRecord
	next, n                int
}

// BatchRecord is one batch of turns of an object, as the inspector shows it.
type BatchRecord struct {
	At     time.Time     `json:"at"`
	Turns  int           `json:"turns"`
	Failed int           `json:"failed"`          // turns that failed (rolled back)
	Commit time.Duration `json:"commit_ns"`       // time the commit took (0 when rolled back)
	Error  string        `json:"error,omitempty"` // the first failure's error
}

// ObjectMetrics are the counters of one object since this process started.
type ObjectMetrics struct {
	Namespace   string        `json:"namespace"`
	ID          string        `json:"id"`
	Name        string        `json:"name,omitempty"`
	Turns       int64         `json:"turns"`
	FailedTurns int64         `json:"failed_turns"`
	Commits     int64         `json:"commits"`
	Messages    int64         `json:"messages"`       // WebSocket messages it received, in committed batches
	Sent        int64         `json:"messages_sent"`  // WebSocket messages its committed turns sent (a broadcast counts one per socket)
	RowsRead    int64         `json:"rows_read"`      // see rowUsage
	RowsWritten int64         `json:"rows_written"`   // see rowUsage
	CommitTime  time.Duration `json:"commit_time_ns"` // total time spent committing
	LastActive  time.Time     `json:"last_active"`
	Sockets     int           `json:"sockets"`
	Bytes       int64         `json:"bytes"` // its database and WAL now
}

// rowUsage counts the rows an object read and wrote. Read: the rows its SQL queries
// returned and the KV entries Get and List found (rows a query scanned without
// returning them are not counted: SQLite keeps no such count). Written: the rows its
// batches inserted, updated or deleted, as SQLite's total_changes() counts them: its
// SQL with the triggers it fired, KV entries, alarms, and the runtime's row of its
// name (once). Every turn of a batch counts, a failed one too: the work was done.
type rowUsage struct {
	read, written int64
	changesSeen   int64 // total_changes() of the connection at the last count (0 when opened)
}

// batchUsage is what one batch of an object did.
type batchUsage struct {
	turns, failed  int
	received, sent int // WebSocket messages
	rows           rowUsage
	commit         time.Duration // 0 when rolled back
	err            error         // the first failure
}

func (om *objectMetrics) init(max int) {
	om.max = max
	om.m = map[wakeKey]*objectStat{}
}

func (om *objectMetrics) record(key wakeKey, name string, now time.Time, b batchUsage) {
	om.mu.Lock()
	defer om.mu.Unlock()
	s := om.m[key]
	if s == nil {
		if len(om.m) >= om.max {
			om.dropLeastBusy()
		}
		s = &objectStat{key: key}
		om.m[key] = s
		heap.Push(&om.byTurns, s)
	}
	if name != "" {
		s.name = name
	}
	s.turns += int64(b.turns)
	heap.Fix(&om.byTurns, s.at)
	s.failed += int64(b.failed)
	s.received += int64(b.received)
	s.sent += int64(b.sent)
	s.rowsRead += b.rows.read
	s.rowsWritten += b.rows.written
	if b.commit > 0 {
		s.commits++
		s.commitTime += b.commit
	}
	s.last = now
	r := BatchRecord{At: now, Turns: b.turns, Failed: b.failed, Commit: b.commit}
	if b.err != nil {
		r.Error = truncate(b.err.Error(), 300)
	}
	s.recent[s.next] = r
	s.next = (s.next + 1) % recentBatches
	s.n = min(s.n+1, recentBatches)
}

// dropLeastBusy removes the entry with the fewest turns; om.mu is held.
func (om *objectMetrics) dropLeastBusy() {
	s := heap.Pop(&om.byTurns).(*objectStat)
	delete(om.m, s.key)
}

func (om *objectMetrics) forget(key wakeKey) {
	om.mu.Lock()
	if s := om.m[key]; s != nil {
		heap.Remove(&om.byTurns, s.at)
		delete(om.m, key)
	}
	om.mu.Unlock()
}

// statHeap is a min-heap of objectStats by turns (container/heap).
type statHeap []*objectStat

func (h statHeap) Len() int           { return len(h) }
func (h statHeap) Less(i, j int) bool { return h[i].turns < h[j].turns }
func (h statHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].at, h[j].at = i, j
}
func (h *statHeap) Push(x any) {
	s := x.(*objectStat)
	s.at = len(*h)
	*h = append(*h, s)
}
func (h *statHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return s
}

func (s *objectStat) snapshot(key wakeKey) ObjectMetrics {
	return ObjectMetrics{Namespace: key.ns, ID: ID{raw: key.id}.String(), Name: s.name, Turns: s.turns,
		FailedTurns: s.failed, Commits: s.commits, Messages: s.received, Sent: s.sent, RowsRead: s.rowsRead,
		RowsWritten: s.rowsWritten, CommitTime: s.commitTime, LastActive: s.last}
}

// TopObjects returns the metrics of the n objects with the most turns (n ≤ 0: all
// that are tracked), busiest first.
func (rt *Runtime) TopObjects(n int) []ObjectMetrics {
	om := &rt.ops.metrics
	om.mu.Lock()
	out := make([]ObjectMetrics, 0, len(om.m))
	for k, s := range om.m {
		out = append(out, s.snapshot(k))
	}
	om.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Turns != out[j].Turns {
			return out[i].Turns > out[j].Turns
		}
		return out[i].ID < out[j].ID
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	for i := range out {
		out[i].Sockets = rt.socketCount(out[i].Namespace, out[i].ID)
		var raw [32]byte
		hex.Decode(raw[:], []byte(out[i].ID))
		out[i].Bytes, _ = objectFileSize(rt.dbPath(out[i].Namespace, ID{raw: raw}))
	}
	return out
}

// objectMetricsOf returns one object's metrics and recent batches, oldest first.
func (rt *Runtime) objectMetricsOf(key wakeKey) (ObjectMetrics, []BatchRecord, bool) {
	om := &rt.ops.metrics
	om.mu.Lock()
	defer om.mu.Unlock()
	s := om.m[key]
	if s == nil {
		return ObjectMetrics{}, nil, false
	}
	recent := make([]BatchRecord, 0, s.n)
	for i := 0; i < s.n; i++ {
		recent = append(recent, s.recent[(s.next-s.n+i+recentBatches)%recentBatches])
	}
	return s.snapshot(key), recent, true
}
