package object

import "sync"

// waitGraph is the runtime's wait-for graph of calls between objects: an edge a→b for
// every call a turn of a is making to b. An object runs one turn at a time, so a call
// that would close a cycle (b is waiting, directly or through other objects, for a)
// can never return: it fails with ErrDeadlock at once instead, whatever contexts the
// calls carry. Calls from outside any turn (a client, State.Go work) add no edge.
type waitGraph struct {
	mu    sync.Mutex
	edges map[objectKey]map[objectKey]int // from → to → calls in flight
}

// add records that from calls to, unless to already waits for from (or is from); it
// reports whether it did.
func (g *waitGraph) add(from, to objectKey) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reaches(to, from) {
		return false
	}
	if g.edges == nil {
		g.edges = map[objectKey]map[objectKey]int{}
	}
	out := g.edges[from]
	if out == nil {
		out = map[objectKey]int{}
		g.edges[from] = out
	}
	out[to]++
	return true
}

// remove forgets one call from → to.
func (g *waitGraph) remove(from, to objectKey) {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := g.edges[from]
	if out[to]--; out[to] <= 0 {
		delete(out, to)
		if len(out) == 0 {
			delete(g.edges, from)
		}
	}
}

// reaches reports whether a path leads from a to b (g.mu held).
func (g *waitGraph) reaches(a, b objectKey) bool {
	if a == b {
		return true
	}
	seen := map[objectKey]bool{a: true}
	next := []objectKey{a}
	for len(next) > 0 {
		n := next[len(next)-1]
		next = next[:len(next)-1]
		for m := range g.edges[n] {
			if m == b {
				return true
			}
			if !seen[m] {
				seen[m] = true
				next = append(next, m)
			}
		}
	}
	return false
}
