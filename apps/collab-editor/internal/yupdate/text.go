package yupdate

import (
	"cmp"
	"errors"
	"slices"
	"strings"

	"github.com/warrenhq/warren/apps/collab-editor/internal/lib0"
)

// ErrTooComplex reports that Text ran out of its budget of steps.
var ErrTooComplex = errors.New("yupdate: the document takes too many steps to integrate")

// Text returns the text of the root Y.Text named root in the document that u
// builds from nothing, as a Yjs client shows it after applying u: it integrates
// u's items like Yjs (its integrateStructs, Item.getMissing and Item.integrate,
// the YATA ordering), leaves out what could not be integrated (pending), then
// applies the delete set. Integrating can take quadratic time (many items
// inserted concurrently at one place), so it takes at most budget steps (one
// step per item, per item scanned for a conflict and per item moved by a split)
// and fails with ErrTooComplex beyond them.
func Text(u *Update, root string, budget int) (text string, err error) {
	in := &integrator{store: map[uint64][]int32{}, roots: map[string]int32{}, budget: budget}
	defer func() {
		if r := recover(); r != nil {
			if r != errBudget {
				panic(r)
			}
			err = ErrTooComplex
		}
	}()
	in.integrate(u)
	in.applyDeleteSet(u.ds)
	seq, ok := in.roots[root]
	if !ok {
		return "", nil
	}
	var b strings.Builder
	for i := in.seqs[seq].start; i >= 0; i = in.items[i].right {
		if it := &in.items[i]; !it.deleted && it.ref == refString {
			b.WriteString(it.str)
		}
	}
	return b.String(), nil
}

// errBudget unwinds an integration that ran out of steps.
var errBudget = errors.New("budget")

type tid struct {
	client uint64
	clock  uint32
}

// parentInfo is an item's explicit parent: a root type's name or a type item.
type parentInfo struct {
	root   bool
	key    string
	id     tid
	sub    string
	hasSub bool
}

// titem is a struct being integrated: an item, a GC struct or (only in the list
// of a client's structs, never in the store) a Skip.
type titem struct {
	id      tid
	length  uint32
	ref     uint8
	gc      bool
	deleted bool
	hasO    bool
	hasR    bool
	origin  tid
	rorigin tid
	parent  int32 // index in parents, -1: none (the parent comes from the neighbours)
	sub     int32 // index in subs (a map key), -1: none
	str     string
	seq     int32 // the sequence (parent type) it is in
	typ     int32 // for a type item, the sequence it holds
	left    int32
	right   int32
}

// tseq is a type: a sequence of items, and the chains of its map keys.
type tseq struct {
	start int32
	maps  map[int32]int32 // sub -> current (rightmost) item of that key
}

type integrator struct {
	items   []titem
	parents []parentInfo
	subs    []string
	subIdx  map[string]int32
	store   map[uint64][]int32 // a client's integrated structs, by clock
	seqs    []tseq
	roots   map[string]int32
	budget  int
	// the conflict loop's sets, as generation stamps per item
	before, conflicting []uint32
	genB, genC          uint32
}

func (in *integrator) step(n int) {
	in.budget -= n
	if in.budget < 0 {
		panic(errBudget)
	}
}

func (in *integrator) newSeq() int32 {
	in.seqs = append(in.seqs, tseq{start: -1, maps: map[int32]int32{}})
	return int32(len(in.seqs) - 1)
}

func (in *integrator) rootSeq(key string) int32 {
	s, ok := in.roots[key]
	if !ok {
		s = in.newSeq()
		in.roots[key] = s
	}
	return s
}

func (in *integrator) subOf(key string) int32 {
	if in.subIdx == nil {
		in.subIdx = map[string]int32{}
	}
	i, ok := in.subIdx[key]
	if !ok {
		i = int32(len(in.subs))
		in.subs = append(in.subs, key)
		in.subIdx[key] = i
	}
	return i
}

// add appends a struct and returns its index.
func (in *integrator) add(it titem) int32 {
	in.items = append(in.items, it)
	in.before = append(in.before, 0)
	in.conflicting = append(in.conflicting, 0)
	return int32(len(in.items) - 1)
}

// decode reads struct s of client into a titem.
func (in *integrator) decode(client uint64, src []byte, s span) titem {
	it := titem{id: tid{client, s.clock}, length: s.length, ref: s.ref(), parent: -1, sub: -1, seq: -1, typ: -1, left: -1, right: -1}
	switch it.ref {
	case refGC:
		it.gc, it.deleted = true, true
		return it
	case refSkip:
		return it
	}
	r := lib0.NewReader(src[s.off+1 : s.end])
	if s.info&hasOrigin != 0 {
		it.hasO, it.origin = true, tid{r.Uint(), uint32(r.Uint())}
	}
	if s.info&hasRightOrigin != 0 {
		it.hasR, it.rorigin = true, tid{r.Uint(), uint32(r.Uint())}
	}
	if !it.hasO && !it.hasR {
		var p parentInfo
		if r.Uint() == 1 {
			p.root, p.key = true, r.VarString()
		} else {
			p.id = tid{r.Uint(), uint32(r.Uint())}
		}
		if s.info&hasParentSub != 0 {
			p.hasSub, p.sub = true, r.VarString()
		}
		in.parents = append(in.parents, p)
		it.parent = int32(len(in.parents) - 1)
	}
	if it.ref == refString {
		it.str = r.VarString()
	}
	return it
}

// state is the clock up to which client's structs are integrated.
func (in *integrator) state(client uint64) uint32 {
	st := in.store[client]
	if len(st) == 0 {
		return 0
	}
	last := &in.items[st[len(st)-1]]
	return last.id.clock + last.length
}

// find returns the position in the store of client's struct holding clock
// (which must be below the client's state).
func (in *integrator) find(id tid) int {
	st := in.store[id.client]
	pos, _ := slices.BinarySearchFunc(st, id.clock, func(i int32, clock uint32) int {
		it := &in.items[i]
		switch {
		case it.id.clock+it.length <= clock:
			return -1
		case it.id.clock > clock:
			return 1
		}
		return 0
	})
	return pos
}

func (in *integrator) get(id tid) int32 { return in.store[id.client][in.find(id)] }

// holder is get(id), looked up only when guess (an item or -1) does not hold id:
// in a conflict scan an item's origin is most often the item scanned before it.
func (in *integrator) holder(id tid, guess int32) int32 {
	if guess >= 0 {
		if g := &in.items[guess]; g.id.client == id.client && g.id.clock <= id.clock && id.clock < g.id.clock+g.length {
			return guess
		}
	}
	return in.get(id)
}

// split cuts item i (in the store at pos) at diff, like Yjs' splitItem, and
// returns the right part.
func (in *integrator) split(i int32, pos int, diff uint32) int32 {
	l := in.items[i]
	r := titem{id: tid{l.id.client, l.id.clock + diff}, length: l.length - diff, ref: l.ref, deleted: l.deleted,
		hasO: true, origin: tid{l.id.client, l.id.clock + diff - 1}, hasR: l.hasR, rorigin: l.rorigin,
		parent: -1, sub: l.sub, seq: l.seq, typ: -1, left: i, right: l.right}
	if l.ref == refString {
		in.step(len(l.str))
		r.str = sliceUTF16(l.str, diff, l.length)
		l.str = sliceUTF16(l.str, 0, diff)
	}
	l.length = diff
	j := in.add(r)
	l.right = j
	in.items[i] = l
	if r.right >= 0 {
		in.items[r.right].left = j
	}
	if r.sub >= 0 && r.right < 0 && r.seq >= 0 {
		in.seqs[r.seq].maps[r.sub] = j
	}
	st := in.store[l.id.client]
	in.step(len(st) - pos)
	in.store[l.id.client] = slices.Insert(st, pos+1, j)
	return j
}

// cleanStart returns the struct that starts at id, splitting the item holding it.
func (in *integrator) cleanStart(id tid) int32 {
	pos := in.find(id)
	i := in.store[id.client][pos]
	if it := &in.items[i]; !it.gc && it.id.clock < id.clock {
		return in.split(i, pos, id.clock-it.id.clock)
	}
	return i
}

// cleanEnd returns the struct that ends at id, splitting the item holding it.
func (in *integrator) cleanEnd(id tid) int32 {
	pos := in.find(id)
	i := in.store[id.client][pos]
	if it := &in.items[i]; !it.gc && id.clock != it.id.clock+it.length-1 {
		in.split(i, pos, id.clock-it.id.clock+1)
	}
	return i
}

// missing returns a client whose structs item i needs and that are not
// integrated yet (Yjs' getMissing); a reference to the item's own client at or
// past its clock (which no honest client writes) is missing too.
func (in *integrator) missing(i int32) (uint64, bool) {
	it := &in.items[i]
	need := func(id tid) bool {
		if id.client == it.id.client {
			return id.clock >= it.id.clock
		}
		return id.clock >= in.state(id.client)
	}
	if it.hasO && need(it.origin) {
		return it.origin.client, true
	}
	if it.hasR && need(it.rorigin) {
		return it.rorigin.client, true
	}
	if it.parent >= 0 && !in.parents[it.parent].root && need(in.parents[it.parent].id) {
		return in.parents[it.parent].id.client, true
	}
	return 0, false
}

// resolve finds item i's neighbours and parent, once nothing is missing, and
// returns its left and right neighbours (-1: none).
func (in *integrator) resolve(i int32) (left, right int32) {
	left, right = -1, -1
	if in.items[i].hasO {
		left = in.cleanEnd(in.items[i].origin)
		l := &in.items[left]
		in.items[i].origin = tid{l.id.client, l.id.clock + l.length - 1}
	}
	if in.items[i].hasR {
		right = in.cleanStart(in.items[i].rorigin)
		in.items[i].rorigin = in.items[right].id
	}
	it := &in.items[i]
	switch {
	case left >= 0 && in.items[left].gc, right >= 0 && in.items[right].gc:
		it.seq = -1
	case it.parent < 0:
		if left >= 0 {
			it.seq, it.sub = in.items[left].seq, in.items[left].sub
		} else if right >= 0 {
			it.seq, it.sub = in.items[right].seq, in.items[right].sub
		}
	default:
		p := in.parents[it.parent]
		if p.root {
			it.seq = in.rootSeq(p.key)
		} else if pi := &in.items[in.get(p.id)]; !pi.gc && pi.ref == refType {
			it.seq = pi.typ
		}
		if p.hasSub {
			it.sub = in.subOf(p.sub)
		}
	}
	return left, right
}

func sameID(hasA bool, a tid, hasB bool, b tid) bool { return hasA == hasB && (!hasA || a == b) }

// place integrates item i (resolved, with its neighbours) into its sequence:
// Yjs' Item.integrate.
func (in *integrator) place(i, left, right int32) {
	it := &in.items[i]
	if it.seq < 0 { // no parent: Yjs integrates a GC struct instead
		it.gc, it.deleted = true, true
		in.store[it.id.client] = append(in.store[it.id.client], i)
		return
	}
	seq := &in.seqs[it.seq]
	if (left < 0 && (right < 0 || in.items[right].left >= 0)) || (left >= 0 && in.items[left].right != right) {
		l := left
		var o int32
		switch {
		case left >= 0:
			o = in.items[left].right
		case it.sub >= 0:
			o = in.mapStart(seq, it.sub)
		default:
			o = seq.start
		}
		in.genB++
		in.genC++
		prev := int32(-1)
		for o >= 0 && o != right {
			in.step(1)
			in.before[o], in.conflicting[o] = in.genB, in.genC
			oi := &in.items[o]
			if sameID(it.hasO, it.origin, oi.hasO, oi.origin) {
				if oi.id.client < it.id.client {
					l = o
					in.genC++
				} else if sameID(it.hasR, it.rorigin, oi.hasR, oi.rorigin) {
					break
				}
			} else if oi.hasO && in.before[in.holder(oi.origin, prev)] == in.genB {
				if in.conflicting[in.holder(oi.origin, prev)] != in.genC {
					l = o
					in.genC++
				}
			} else {
				break
			}
			prev, o = o, oi.right
		}
		left = l
	}
	it.left = left
	if left >= 0 {
		it.right = in.items[left].right
		in.items[left].right = i
	} else if it.sub >= 0 {
		it.right = in.mapStart(seq, it.sub)
	} else {
		it.right = seq.start
		seq.start = i
	}
	if it.right >= 0 {
		in.items[it.right].left = i
	} else if it.sub >= 0 {
		seq.maps[it.sub] = i
	}
	switch it.ref {
	case refType:
		it.typ = in.newSeq()
	case refDeleted:
		it.deleted = true
	}
	in.store[it.id.client] = append(in.store[it.id.client], i)
}

// mapStart returns the leftmost item of a map key's chain (-1: none).
func (in *integrator) mapStart(seq *tseq, sub int32) int32 {
	o, ok := seq.maps[sub]
	if !ok {
		return -1
	}
	for in.items[o].left >= 0 {
		in.step(1)
		o = in.items[o].left
	}
	return o
}

// clientRefs is a client's structs waiting to be integrated.
type clientRefs struct {
	list []int32
	i    int
}

// integrate integrates every struct of u it can, in Yjs' order
// (integrateStructs): a struct whose dependencies are missing waits on a stack
// while the client it needs advances; a dependency that never comes (or a cycle)
// leaves the structs on the stack and the rest of their clients pending.
func (in *integrator) integrate(u *Update) {
	refs := map[uint64]*clientRefs{}
	var ids []uint64
	for _, rn := range u.runs {
		cr := &clientRefs{}
		for _, s := range rn.spans {
			cr.list = append(cr.list, in.add(in.decode(rn.client, rn.src, s)))
		}
		refs[rn.client] = cr
		ids = append(ids, rn.client)
	}
	slices.SortFunc(ids, func(a, b uint64) int { return cmp.Compare(a, b) })
	next := func() *clientRefs {
		for len(ids) > 0 {
			if cr := refs[ids[len(ids)-1]]; cr != nil && cr.i < len(cr.list) {
				return cr
			}
			ids = ids[:len(ids)-1]
		}
		return nil
	}
	var stack []int32
	giveUp := func() { // the structs on the stack, and the rest of their clients, stay pending
		for _, s := range stack {
			c := in.items[s].id.client
			if cr := refs[c]; cr != nil {
				cr.i = len(cr.list)
			}
			delete(refs, c)
			ids = slices.DeleteFunc(ids, func(x uint64) bool { return x == c })
		}
		stack = stack[:0]
	}
	cur := next()
	if cur == nil {
		return
	}
	head := cur.list[cur.i]
	cur.i++
	for {
		in.step(1)
		if h := &in.items[head]; h.ref != refSkip {
			local := in.state(h.id.client)
			switch {
			case local < h.id.clock: // an earlier struct of this client is missing
				stack = append(stack, head)
				giveUp()
			case local > h.id.clock: // already integrated
			default:
				if dep, ok := in.missing(head); ok {
					stack = append(stack, head)
					if cr := refs[dep]; cr != nil && cr.i < len(cr.list) {
						head = cr.list[cr.i]
						cr.i++
						continue
					}
					giveUp()
				} else {
					left, right := in.resolve(head)
					in.place(head, left, right)
				}
			}
		}
		switch {
		case len(stack) > 0:
			head = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
		case cur != nil && cur.i < len(cur.list):
			head = cur.list[cur.i]
			cur.i++
		default:
			if cur = next(); cur == nil {
				return
			}
			head = cur.list[cur.i]
			cur.i++
		}
	}
}

// applyDeleteSet marks the integrated structs in ds deleted, splitting items at
// the ranges' ends (Yjs' readAndApplyDeleteSet); deletions of structs not
// integrated are dropped.
func (in *integrator) applyDeleteSet(ds []dsClient) {
	for _, c := range ds {
		state := in.state(c.client)
		for _, d := range c.ranges {
			if d.clock >= state {
				continue
			}
			end := d.clock + d.length
			pos := in.find(tid{c.client, d.clock})
			i := in.store[c.client][pos]
			if it := &in.items[i]; !it.deleted && it.id.clock < d.clock {
				in.split(i, pos, d.clock-it.id.clock)
				pos++
			}
			for st := in.store[c.client]; pos < len(st); st = in.store[c.client] {
				in.step(1)
				i = st[pos]
				pos++
				it := &in.items[i]
				if it.id.clock >= end {
					break
				}
				if !it.deleted {
					if end < it.id.clock+it.length {
						in.split(i, pos-1, end-it.id.clock)
					}
					in.items[i].deleted = true
				}
			}
		}
	}
}
