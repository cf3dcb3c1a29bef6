package object

import "time"

// An entity is owned by at most one party at a time, which alone touches its
// runner-owned fields (database, instance, State): a runner (running its turns), an
// evictor (closing its database), or the slot line (waiting to open it). entity.running
// is set while it is owned, whoever owns it. An entity that is not owned is idle: in
// rt.idle if its database is open, else (kept only for pending State.Go work) outside
// any list. Because eviction owns the entity until its database is closed and its
// placement released, the next activation of the same object, which must wait for
// ownership, always starts after that release.

// becameIdle is called by a runner that found its queue empty. It reports false if
// events arrived meanwhile and the runner must go on.
func (rt *Runtime) becameIdle(e *entity) bool {
	if e.slot && e.db == nil {
		rt.releaseSlot(e) // reserved, but every event was dropped before the database opened
	}
	rt.mu.Lock()
	e.mu.Lock()
	if len(e.queue) > 0 {
		e.mu.Unlock()
		rt.mu.Unlock()
		return false
	}
	e.running = false
	e.idleSince = rt.cfg.Clock.Now()
	open := e.db != nil
	if open {
		e.idleElem = rt.idle.PushBack(e)
	} else if e.inst == nil || e.pins == 0 {
		delete(rt.objects, e.key)
	}
	e.cond.Broadcast()
	e.mu.Unlock()
	var victim *entity
	if open && rt.slotLine.Len() > 0 {
		victim = rt.takeVictimLocked() // an activation is waiting for a slot
	}
	rt.mu.Unlock()
	if victim != nil {
		rt.closeOwned(victim, false)
	}
	return true
}

// takeVictimLocked takes ownership of the least recently used idle object with an open
// database, for closing, or returns nil if there is none. rt.mu is held.
func (rt *Runtime) takeVictimLocked() *entity {
	el := rt.idle.Front()
	if el == nil {
		return nil
	}
	v := el.Value.(*entity)
	v.mu.Lock()
	rt.idle.Remove(el)
	v.idleElem = nil
	v.running = true
	v.mu.Unlock()
	return v
}

// closeOwned closes the database of an entity the caller owns, then gives the entity
// up: to a runner if events arrived meanwhile, else to the idle state. A pinned object
// (pending State.Go work) keeps its instance unless drop is set, so its continuation
// still runs; its database reopens for that turn.
func (rt *Runtime) closeOwned(e *entity, drop bool) {
	e.mu.Lock()
	keep := !drop && e.pinned()
	e.mu.Unlock()
	e.closeDB(keep)
	rt.stats.evictions.Add(1)
	rt.mu.Lock()
	e.mu.Lock()
	start := len(e.queue) > 0
	if !start {
		e.running = false
		if e.inst == nil || e.pins == 0 {
			e.inst = nil
			delete(rt.objects, e.key)
		}
		e.cond.Broadcast()
	}
	e.mu.Unlock()
	rt.mu.Unlock()
	if start {
		rt.startRunner(e)
	}
}

// unpinned drops an idle entity without a database once nothing keeps it in memory.
func (rt *Runtime) unpinned(e *entity) {
	rt.mu.Lock()
	e.mu.Lock()
	if e.pins == 0 && !e.running && e.db == nil && rt.objects[e.key] == e {
		e.inst = nil
		delete(rt.objects, e.key)
	}
	e.mu.Unlock()
	rt.mu.Unlock()
}

// EvictIdle evicts every object that has had no event for at least d (0: every idle
// object). Objects with sockets keep them (hibernation); objects with pending State.Go
// work stay. It returns the number evicted.
func (rt *Runtime) EvictIdle(d time.Duration) int {
	n := 0
	now := rt.cfg.Clock.Now()
	for {
		rt.mu.Lock()
		var victim *entity
		for el := rt.idle.Front(); el != nil; el = el.Next() {
			e := el.Value.(*entity)
			if now.Sub(e.idleSince) < d {
				break
			}
			e.mu.Lock() // pins change under e.mu alone (pin, unpin)
			pinned := e.pinned()
			e.mu.Unlock()
			if pinned {
				continue
			}
			victim = e
			break
		}
		rt.mu.Unlock()
		if victim == nil {
			return n
		}
		if rt.evict(victim, false) {
			n++
		}
	}
}

// evict drops an idle object's instance and closes its database. With force it also
// evicts pinned objects (used by Close). It reports whether it evicted.
func (rt *Runtime) evict(e *entity, force bool) bool {
	rt.mu.Lock()
	e.mu.Lock()
	if e.running || e.db == nil || (!force && e.pinned()) {
		e.mu.Unlock()
		rt.mu.Unlock()
		return false
	}
	rt.idle.Remove(e.idleElem)
	e.idleElem = nil
	e.running = true
	e.mu.Unlock()
	rt.mu.Unlock()
	rt.closeOwned(e, true)
	return true
}
