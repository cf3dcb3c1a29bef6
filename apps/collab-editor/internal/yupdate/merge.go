package yupdate

import (
	"cmp"
	"container/heap"
	"iter"
	"slices"

	"github.com/warrenhq/warren/apps/collab-editor/internal/lib0"
)

// piece is a struct of one of the updates being merged (of srcs[src]); rank
// orders the pieces as the updates are ordered.
type piece struct {
	s    span
	src  int32
	rank int32
}

// Merge merges updates into one holding every struct and every deletion of them
// all, as Yjs' mergeUpdates does: per client, the structs in clock order with a
// Skip over each gap. Where updates overlap (the same clocks sent twice), the
// clocks come from the earliest update that has them, as they would for a peer
// that applied the updates in order. Content the delete set covers is replaced
// by its length, as Yjs' garbage collection does (types and subdocuments are
// kept: other items refer to them as parents), so deleted text does not grow
// the document.
func Merge(us ...*Update) (*Update, error) {
	byClient := map[uint64][]piece{}
	var srcs [][]byte
	var dss []dsClient
	var rank int32
	size := 0
	for _, u := range us {
		size += len(u.b)
		for _, rn := range u.runs {
			srcs = append(srcs, rn.src)
			ps := slices.Grow(byClient[rn.client], len(rn.spans))
			for _, s := range rn.spans {
				if s.ref() != refSkip {
					ps = append(ps, piece{s, int32(len(srcs) - 1), rank})
					rank++
				}
			}
			byClient[rn.client] = ps
		}
		dss = append(dss, u.ds...)
	}
	ds := mergeDeleteSets(dss)
	deleted := map[uint64][]drange{}
	for _, c := range ds {
		deleted[c.client] = c.ranges
	}
	clients := make([]uint64, 0, len(byClient))
	for c := range byClient {
		clients = append(clients, c)
	}
	slices.SortFunc(clients, func(a, b uint64) int { return cmp.Compare(b, a) }) // Yjs writes higher clients first
	w := builder{out: make([]byte, 0, size+size/8)}
	for _, client := range clients {
		dels := deleted[client]
		started, end := false, uint32(0)
		for seg := range firstWriters(byClient[client]) {
			if !started {
				w.startClient(seg.from)
				started = true
			} else if seg.from > end {
				w.body = lib0.AppendUint(append(w.body, refSkip), uint64(seg.from-end))
				w.n++
			}
			dels = writeCollected(&w, client, srcs[seg.src], seg, dels)
			end = seg.to
		}
		w.endClient(client)
	}
	return Parse(w.bytes(ds))
}

// segment is clocks [from, to) of a piece.
type segment struct {
	piece
	from, to uint32
}

// firstWriters yields segments of one client's pieces that cover every clock
// any of them has, each clock taken from the earliest piece (lowest rank) that
// has it, in clock order.
func firstWriters(ps []piece) iter.Seq[segment] {
	slices.SortFunc(ps, func(a, b piece) int { return cmp.Or(cmp.Compare(a.s.clock, b.s.clock), cmp.Compare(a.rank, b.rank)) })
	for i := 1; i < len(ps); i++ {
		if ps[i].s.clock < ps[i-1].s.next() {
			return overlapping(ps)
		}
	}
	return func(yield func(segment) bool) { // the usual case: no clock twice
		for _, p := range ps {
			if !yield(segment{p, p.s.clock, p.s.next()}) {
				return
			}
		}
	}
}

// overlapping is firstWriters for pieces that overlap: a sweep over the points
// where pieces start and end, with the active pieces in a heap by rank.
func overlapping(ps []piece) iter.Seq[segment] {
	points := make([]uint32, 0, 2*len(ps))
	for _, p := range ps {
		points = append(points, p.s.clock, p.s.next())
	}
	slices.Sort(points)
	points = slices.Compact(points)
	var out []segment
	active := &pieceHeap{}
	next := 0
	for i := 0; i+1 < len(points); i++ {
		from, to := points[i], points[i+1]
		for next < len(ps) && ps[next].s.clock == from {
			heap.Push(active, ps[next])
			next++
		}
		for active.Len() > 0 && (*active)[0].s.next() <= from {
			heap.Pop(active)
		}
		if active.Len() == 0 {
			continue // a gap
		}
		win := (*active)[0]
		if n := len(out); n > 0 && out[n-1].rank == win.rank && out[n-1].to == from {
			out[n-1].to = to
			continue
		}
		out = append(out, segment{win, from, to})
	}
	return slices.Values(out)
}

// pieceHeap is a min-heap of pieces by rank.
type pieceHeap []piece

func (h pieceHeap) Len() int           { return len(h) }
func (h pieceHeap) Less(i, j int) bool { return h[i].rank < h[j].rank }
func (h pieceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *pieceHeap) Push(x any)        { *h = append(*h, x.(piece)) }
func (h *pieceHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// writeCollected writes segment seg, split where the deleted ranges dels
// (sorted, for seg's client) start and end, the deleted parts with their
// content replaced by its length. It returns the ranges not yet passed.
func writeCollected(w *builder, client uint64, src []byte, seg segment, dels []drange) []drange {
	s := seg.s
	part := func(a, b uint32, del bool) {
		w.body = appendPart(w.body, client, src, s, a-s.clock, b-s.clock, del)
		w.n++
	}
	for len(dels) > 0 && dels[0].clock+dels[0].length <= seg.from {
		dels = dels[1:]
	}
	switch s.ref() {
	case refGC, refDeleted, refType, refDoc:
		part(seg.from, seg.to, false)
		return dels
	}
	at := seg.from
	for _, d := range dels {
		if d.clock >= seg.to {
			break
		}
		if d.clock > at {
			part(at, d.clock, false)
			at = d.clock
		}
		dend := min(seg.to, d.clock+d.length)
		part(at, dend, true)
		at = dend
	}
	if at < seg.to {
		part(at, seg.to, false)
	}
	return dels
}

// mergeDeleteSets unites delete sets: per client, sorted ranges, the ones that
// overlap or touch joined (Yjs' sortAndMergeDeleteSet).
func mergeDeleteSets(dss []dsClient) []dsClient {
	byClient := map[uint64][]drange{}
	for _, c := range dss {
		byClient[c.client] = append(byClient[c.client], c.ranges...)
	}
	out := make([]dsClient, 0, len(byClient))
	for client, rs := range byClient {
		slices.SortFunc(rs, func(a, b drange) int { return cmp.Compare(a.clock, b.clock) })
		j := 0
		for _, r := range rs[1:] {
			last := &rs[j]
			if last.clock+last.length >= r.clock {
				last.length = max(last.length, r.clock+r.length-last.clock)
			} else {
				j++
				rs[j] = r
			}
		}
		out = append(out, dsClient{client: client, ranges: rs[:j+1]})
	}
	slices.SortFunc(out, func(a, b dsClient) int { return cmp.Compare(b.client, a.client) })
	return out
}
