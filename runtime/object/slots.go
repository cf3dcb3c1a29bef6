package object

import "fmt"

// Slots bound the open databases to Config.MaxOpen. A runner takes a slot before it
// opens its object's database, and closeDB gives it back. An activation that finds no
// slot free evicts the least recently used idle object; if there is none (every open
// object is running a turn, or being closed), the entity waits in rt.slotLine without
// a goroutine, and the next slot given back goes to the first in line, which is handed
// to a runner again. A wait ends when some open object's turn ends: within the turn
// time limit.

// takeSlot reserves a database slot for e (its runner calls it). It reports false when
// e was put in line: the runner must stop, and e goes to a runner again once it holds a
// slot. It fails with ErrClosed once the runtime is closing.
func (rt *Runtime) takeSlot(e *entity) (bool, error) {
	for {
		rt.mu.Lock()
		if rt.closed {
			rt.mu.Unlock()
			return false, fmt.Errorf("%w: not opening %s/%s", ErrClosed, e.ns.name, e.id)
		}
		if rt.slotLine.Len() == 0 {
			if rt.open < rt.cfg.MaxOpen {
				rt.open++
				rt.mu.Unlock()
				e.slot = true
				return true, nil
			}
			if victim := rt.takeVictimLocked(); victim != nil {
				rt.mu.Unlock()
				rt.closeOwned(victim, false) // gives its slot back; try again
				continue
			}
		}
		rt.slotLine.PushBack(e)
		rt.mu.Unlock()
		return false, nil
	}
}

// releaseSlot gives e's slot back: to the first entity in line, or to the pool.
func (rt *Runtime) releaseSlot(e *entity) {
	e.slot = false
	rt.mu.Lock()
	next := rt.slotLine.Front()
	if next == nil {
		rt.open--
		rt.mu.Unlock()
		return
	}
	w := rt.slotLine.Remove(next).(*entity)
	rt.mu.Unlock()
	w.slot = true // w is owned by the line: nobody else touches it
	rt.startRunner(w)
}

// drainSlotLine empties the line (rt.mu held, the runtime closed) and returns the
// entities that were in it, to be handed to runners that fail their events.
func (rt *Runtime) drainSlotLine() []*entity {
	var out []*entity
	for el := rt.slotLine.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*entity))
	}
	rt.slotLine.Init()
	return out
}
