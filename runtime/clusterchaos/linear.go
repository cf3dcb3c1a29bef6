package clusterchaos

import (
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

// LinResult is what [Linearizable] found.
type LinResult struct {
	Violations []string // objects whose history is not linearizable
	Unknown    []string // objects whose check did not finish in time (not decided)
	Examples   []string // why, for some violations
	// Segments: the histories' quiescent segments checked (see [Linearizable]);
	// Longest: the most operations in one.
	Segments, Longest int
	// Indeterminate adds: Seen, given the return time of the first read that saw
	// them; Dropped, seen by no read (not one of them took effect).
	Seen, Dropped int
}

// Linearizable checks each object's history with porcupine against a grow-only set
// whose reads return the whole set. Failed operations had no effect and are left out
// ([CheckSet] checks failed adds); acknowledged adds and reads take their call and
// return times. Two reductions keep the search small without changing the verdict:
//
//   - An add of unknown outcome may take effect at any moment after its call, or
//     never. Elements are unique and the set only grows, so if no read saw its
//     element it must be linearized after every read, where it changes nothing: it is
//     left out. Left open until the end, each such add doubled the states porcupine
//     explored at every read after its call.
//   - Every add (acknowledged or not) took effect before the first read that saw its
//     element returned, and after the last read that did not see it was called: its
//     interval is narrowed to those bounds, which every linearization satisfies
//     already. An add's interval then spans only the reads that may order either way.
//   - A quiescent point (every operation of the object called before it has
//     returned, none after it called yet) orders everything before it before
//     everything after it, and the set there is every add before it: the history is
//     cut there and each segment is checked from that set.
//
// The model's state is a bitset over the object's elements. A read that saw an
// element no add of the object sent (failed or never sent) matches no state: not
// linearizable. Reads are atomic snapshots, so this checks more than each element
// alone would (two reads each seeing one of two concurrent adds and not the other
// are not linearizable). timeout bounds each segment's check; a segment past it
// leaves its object undecided (Unknown), never a violation.
func Linearizable(ops []Op, timeout time.Duration) LinResult {
	per := map[string][]Op{}
	for _, op := range ops {
		if op.Outcome == Failed || (op.Kind == Read && op.Outcome != OK) {
			continue
		}
		per[op.Object] = append(per[op.Object], op)
	}
	objs := make([]string, 0, len(per))
	for o := range per {
		objs = append(objs, o)
	}
	sort.Strings(objs)
	var r LinResult
	for _, o := range objs {
		switch res, why := r.checkObject(per[o], timeout); res {
		case porcupine.Illegal:
			r.Violations = append(r.Violations, o)
			if len(r.Examples) < 5 {
				r.Examples = append(r.Examples, o+": "+why)
			}
		case porcupine.Unknown:
			r.Unknown = append(r.Unknown, o)
		}
	}
	return r
}

// linOp is one operation of an object's history as porcupine checks it.
type linOp struct {
	read          bool
	elem          int // add: the element's index
	set           elemSet
	call, return_ int64
}

// checkObject checks one object's operations (none failed, reads all OK); why says
// what is wrong when the result is Illegal.
func (r *LinResult) checkObject(ops []Op, timeout time.Duration) (porcupine.CheckResult, string) {
	// Index the elements: adds first, then any element only reads mention.
	index := map[string]int{}
	var names []string
	id := func(e string) int {
		i, ok := index[e]
		if !ok {
			i = len(names)
			index[e] = i
			names = append(names, e)
		}
		return i
	}
	for _, op := range ops {
		if op.Kind == Add {
			id(op.Elem)
		}
	}
	for _, op := range ops {
		for _, e := range op.Set {
			id(e)
		}
	}
	// For each element: the earliest return of a read that saw it, the latest call
	// of one that did not.
	seenBy, unseenAt := make([]int64, len(names)), make([]int64, len(names))
	var lin []linOp
	for _, op := range ops {
		if op.Kind != Read {
			continue
		}
		s := newElemSet(len(names))
		for _, e := range op.Set {
			i := index[e]
			s[i/64] |= 1 << (i % 64)
		}
		call, ret := op.Call.UnixNano(), op.Return.UnixNano()
		for i := range names {
			switch {
			case s.has(i) && (seenBy[i] == 0 || ret < seenBy[i]):
				seenBy[i] = ret
			case !s.has(i) && call > unseenAt[i]:
				unseenAt[i] = call
			}
		}
		lin = append(lin, linOp{read: true, set: s, call: call, return_: ret})
	}
	for _, op := range ops {
		if op.Kind != Add {
			continue
		}
		p := linOp{elem: index[op.Elem], call: op.Call.UnixNano(), return_: op.Return.UnixNano()}
		if op.Outcome == Indeterminate && seenBy[p.elem] == 0 {
			r.Dropped++
			continue
		}
		if op.Outcome == Indeterminate {
			r.Seen++
			p.return_ = seenBy[p.elem]
		} else if seenBy[p.elem] != 0 {
			p.return_ = min(p.return_, seenBy[p.elem])
		}
		if seenBy[p.elem] != 0 && seenBy[p.elem] < op.Call.UnixNano() {
			return porcupine.Illegal, fmt.Sprintf("a read that returned at %s saw %s, added at %s",
				time.Unix(0, seenBy[p.elem]).Format(time.StampMicro), op.Elem, op.Call.Format(time.StampMicro))
		}
		p.call = max(p.call, unseenAt[p.elem])
		if p.call > p.return_ {
			return porcupine.Illegal, fmt.Sprintf("%s (called %s) was missing from a read called at %s, after a read or its acknowledgement at %s showed it",
				op.Elem, op.Call.Format(time.StampMicro), time.Unix(0, unseenAt[p.elem]).Format(time.StampMicro), time.Unix(0, p.return_).Format(time.StampMicro))
		}
		lin = append(lin, p)
	}
	slices.SortFunc(lin, func(a, b linOp) int { return cmpInt64(a.call, b.call) })

	// Cut at quiescent points: the next call after every return so far.
	state := newElemSet(len(names))
	result := porcupine.Ok
	for start := 0; start < len(lin); {
		end, last := start+1, lin[start].return_
		for end < len(lin) && lin[end].call <= last {
			last = max(last, lin[end].return_)
			end++
		}
		seg := lin[start:end]
		r.Segments++
		r.Longest = max(r.Longest, len(seg))
		switch checkSegment(seg, state, names, timeout) {
		case porcupine.Illegal:
			return porcupine.Illegal, fmt.Sprintf("the %d operations from %s on", len(seg), time.Unix(0, seg[0].call).Format(time.StampMicro))
		case porcupine.Unknown:
			result = porcupine.Unknown // a later segment may still be Illegal
		}
		for _, p := range seg {
			if !p.read {
				state = state.with(p.elem)
			}
		}
		start = end
	}
	return result, ""
}

// checkSegment runs porcupine on one quiescent segment, from the set init.
//
// The model's state is the set and the segment's reads linearized so far, and it
// refuses an add of e until every read of the segment that did not see e is
// linearized. Every linearization orders those reads before the add already, so the
// verdict is the same; without it, k adds concurrent with a read that saw none of
// them made porcupine try all 2^k subsets of them before that read.
func checkSegment(seg []linOp, init elemSet, names []string, timeout time.Duration) porcupine.CheckResult {
	var reads []int // index in seg of the segment's reads
	for i, p := range seg {
		if p.read {
			reads = append(reads, i)
		}
	}
	readIndex := map[int]int{} // index in seg -> bit in segState.reads
	for j, i := range reads {
		readIndex[i] = j
	}
	hist := make([]porcupine.Operation, len(seg))
	for i, p := range seg {
		in := segInput{op: p, bit: readIndex[i]}
		if !p.read {
			in.after = newElemSet(len(reads))
			for j, ri := range reads {
				if !seg[ri].set.has(p.elem) {
					in.after[j/64] |= 1 << (j % 64)
				}
			}
		}
		hist[i] = porcupine.Operation{Input: in, Call: p.call, Return: p.return_}
	}
	model := porcupine.Model{
		Init: func() any { return segState{set: init, reads: newElemSet(len(reads))} },
		Step: func(state, input, output any) (bool, any) {
			s, in := state.(segState), input.(segInput)
			if in.op.read {
				if !s.set.equal(in.op.set) {
					return false, s
				}
				return true, segState{set: s.set, reads: s.reads.with(in.bit)}
			}
			if !s.reads.contains(in.after) {
				return false, s
			}
			return true, segState{set: s.set.with(in.op.elem), reads: s.reads}
		},
		Equal: func(a, b any) bool {
			x, y := a.(segState), b.(segState)
			return x.set.equal(y.set) && x.reads.equal(y.reads)
		},
		Hash: func(s any) uint64 { return s.(segState).set.hash() ^ s.(segState).reads.hash()*31 },
		DescribeOperation: func(input, output any) string {
			if in := input.(segInput); !in.op.read {
				return "add(" + names[in.op.elem] + ")"
			}
			return fmt.Sprintf("read() -> %d elements", input.(segInput).op.set.len())
		},
	}
	return porcupine.CheckOperationsTimeout(model, hist, timeout)
}

// segState is the model's state in [checkSegment].
type segState struct {
	set   elemSet // the elements added
	reads elemSet // the segment's reads linearized
}

// segInput is an operation of [checkSegment]: bit is a read's in segState.reads;
// after, an add's reads that must be linearized before it.
type segInput struct {
	op    linOp
	bit   int
	after elemSet
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// elemSet is a set of element indices, a bitset never modified once built.
type elemSet []uint64

func newElemSet(n int) elemSet { return make(elemSet, (n+63)/64) }

// with returns s with element i (s itself when i is in it).
func (s elemSet) with(i int) elemSet {
	if s.has(i) {
		return s
	}
	c := slices.Clone(s)
	c[i/64] |= 1 << (i % 64)
	return c
}

func (s elemSet) has(i int) bool { return s[i/64]&(1<<(i%64)) != 0 }

// contains reports whether every element of o (a set of the same size) is in s.
func (s elemSet) contains(o elemSet) bool {
	for i, w := range o {
		if s[i]&w != w {
			return false
		}
	}
	return true
}

func (s elemSet) equal(o elemSet) bool { return slices.Equal(s, o) }

func (s elemSet) len() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// hash is FNV-1a over the words.
func (s elemSet) hash() uint64 {
	h := uint64(14695981039346656037)
	for _, w := range s {
		h ^= w
		h *= 1099511628211
	}
	return h
}
