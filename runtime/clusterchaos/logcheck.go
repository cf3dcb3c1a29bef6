package clusterchaos

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"
)

// LogRecord is one record of an object's log as read from JetStream: the header
// every record starts with (version, kind, writer's epoch; version 2 then carries
// its commit time, base and flags, 17 bytes) and, for an EPOCH record, the owner's
// node name.
type LogRecord struct {
	Key   string // the object's key: the log subject's last token
	Seq   uint64 // stream sequence
	Kind  byte   // 'E' epoch, 'F' frames, 'B' blob, 'S' snapshot
	Epoch uint64
	Node  string    // EPOCH: the owner's node
	Time  time.Time // when the stream leader stored it
}

// Record kinds (runtime/cluster record.go).
const (
	KindEpoch = 'E'
	KindSnap  = 'S'
)

// DecodeRecord reads the header of one log record's data.
func DecodeRecord(key string, seq uint64, t time.Time, data []byte) (LogRecord, error) {
	header := 0
	switch {
	case len(data) >= 10 && data[0] == 1:
		header = 10
	case len(data) >= 27 && data[0] == 2:
		header = 27
	default:
		return LogRecord{}, errors.New("clusterchaos: not a version 1 or 2 log record")
	}
	r := LogRecord{Key: key, Seq: seq, Kind: data[1], Epoch: binary.BigEndian.Uint64(data[2:10]), Time: t}
	switch r.Kind {
	case KindEpoch:
		name := data[header:]
		if len(name) < 2 || len(name) < 2+int(binary.BigEndian.Uint16(name)) {
			return LogRecord{}, errors.New("clusterchaos: short EPOCH record")
		}
		r.Node = string(name[2 : 2+int(binary.BigEndian.Uint16(name))])
	case 'F', 'B', KindSnap:
	default:
		return LogRecord{}, fmt.Errorf("clusterchaos: unknown record kind %q", r.Kind)
	}
	return r, nil
}

// LogResult is what [CheckLog] found. Regressions must be 0.
type LogResult struct {
	Objects, Records, Epochs int
	// Regressions: records whose epoch is lower than an earlier record's of the same
	// log (a FRAMES record of an old owner after a newer EPOCH record, or an EPOCH
	// going back): a superseded owner's append was accepted.
	Regressions int
	Examples    []string
}

// CheckLog checks every object's log (records in any order; each log is sorted by
// sequence): epochs never decrease, so no record of an old epoch follows a newer
// epoch's record.
func CheckLog(recs []LogRecord) LogResult {
	var r LogResult
	byKey := groupLog(recs)
	r.Objects = len(byKey)
	for key, rs := range byKey {
		var max uint64
		for _, rec := range rs {
			r.Records++
			if rec.Kind == KindEpoch {
				r.Epochs++
			}
			if rec.Epoch < max {
				r.Regressions++
				if len(r.Examples) < 5 {
					r.Examples = append(r.Examples, fmt.Sprintf("log %.8s: record %d (%c) of epoch %d after epoch %d", key, rec.Seq, rec.Kind, rec.Epoch, max))
				}
			}
			max = maxU(max, rec.Epoch)
		}
	}
	return r
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// groupLog sorts records into logs by key, each by sequence, duplicates left out.
func groupLog(recs []LogRecord) map[string][]LogRecord {
	by := map[string][]LogRecord{}
	for _, rec := range recs {
		by[rec.Key] = append(by[rec.Key], rec)
	}
	for k, rs := range by {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Seq < rs[j].Seq })
		out := rs[:0]
		for i, rec := range rs {
			if i == 0 || rec.Seq != rs[i-1].Seq {
				out = append(out, rec)
			}
		}
		by[k] = out
	}
	return by
}

// ServeResult is what [CheckServed] found. Violations must be 0.
type ServeResult struct {
	Batches   int // batches the nodes committed (served)
	Unchecked int // of those, with no EPOCH record of their node seen before them
	// Window: batches whose commit began before a newer owner's EPOCH record and
	// ended after it: the lease-read window (a node paused or slow between its lease
	// check and its reply). Allowed; ZombieWindow counts those during a pause or
	// partition of their node.
	Window, ZombieWindow int
	// Violations: batches whose commit began after a newer owner's EPOCH record of
	// the object (plus Slack): two instances serving one object at once.
	Violations int
	Examples   []string
	// First is the first violation found: the object's key, and when its batch
	// started (for a look at that log around it).
	First      string
	FirstStart time.Time
}

// Slack is the clock slack of [CheckServed]: every time comes from one host's
// wall clock.
const Slack = time.Millisecond

// CheckServed checks that no two instances served one object at once: a batch a
// node committed belongs to that node's latest EPOCH record before it ended; no
// later EPOCH record (another owner, or this node's next claim) may be older than the
// batch's start. faults tells which batches fell in a pause or partition of their
// node (the documented lease-read window).
func CheckServed(served []Served, recs []LogRecord, faults []Fault) ServeResult {
	var r ServeResult
	epochs := map[string][]LogRecord{}
	for key, rs := range groupLog(recs) {
		for _, rec := range rs {
			if rec.Kind == KindEpoch {
				epochs[key] = append(epochs[key], rec)
			}
		}
	}
	example := func(format string, a ...any) {
		if len(r.Examples) < 5 {
			r.Examples = append(r.Examples, fmt.Sprintf(format, a...))
		}
	}
	for _, b := range served {
		r.Batches++
		es := epochs[b.Key]
		own := -1 // the node's latest EPOCH record before the batch ended
		for i, e := range es {
			if e.Node == b.Node && !e.Time.After(b.End.Add(Slack)) {
				own = i
			}
		}
		if own < 0 {
			r.Unchecked++
			continue
		}
		if own+1 >= len(es) {
			continue // no newer owner
		}
		next := es[own+1]
		switch {
		case b.Start.After(next.Time.Add(Slack)):
			r.Violations++
			if r.First == "" {
				r.First, r.FirstStart = b.Key, b.Start
			}
			example("%s served %.8s from %s, after %s's epoch %d began at %s (its own epoch %d)", b.Node, b.Key,
				b.Start.Format(time.StampMicro), next.Node, next.Epoch, next.Time.Format(time.StampMicro), es[own].Epoch)
		case b.End.After(next.Time.Add(Slack)):
			r.Window++
			if faulted(faults, b.Node, b.Start, b.End) {
				r.ZombieWindow++
			}
		}
	}
	return r
}

// faulted reports whether a pause or partition of node overlaps [start, end].
func faulted(faults []Fault, node string, start, end time.Time) bool {
	for _, f := range faults {
		if f.Node == node && (f.Kind == "pause" || f.Kind == "partition") && f.Start.Before(end) && f.End.After(start) {
			return true
		}
	}
	return false
}
