package object

import "fmt"

// Back-pressure on what events hold: at most Config.MaxQueue events per object (of
// which MaxQueuePerAddress HTTP requests of one client address), and at most
// MaxQueueBytes of client bytes (request bodies) per object and
// MaxQueueBytesTotal in the process. Bytes are counted from dispatch until the event is
// done (ran, failed or was dropped), not until its caller stops waiting: a request
// whose client went away still holds its body in the queue.

// queueFullLocked reports, as ErrOverloaded, why e cannot take ev now. rt.mu and e.mu
// are held.
func (rt *Runtime) queueFullLocked(e *entity, ev *event) error {
	bytes := ev.bytes
	switch {
	case len(e.queue) >= rt.cfg.MaxQueue && !ev.mustQueue:
		return fmt.Errorf("%w: %d events queued for %s/%s", ErrOverloaded, len(e.queue), e.ns.name, e.hexID())
	case bytes > 0 && e.queued+bytes > rt.cfg.MaxQueueBytes:
		return fmt.Errorf("%w: %d bytes of requests queued for %s/%s (at most %d)", ErrOverloaded, e.queued, e.ns.name, e.hexID(), rt.cfg.MaxQueueBytes)
	case bytes > 0 && rt.queued+bytes > rt.cfg.MaxQueueBytesTotal:
		return fmt.Errorf("%w: %d bytes of requests queued in all (at most %d)", ErrOverloaded, rt.queued, rt.cfg.MaxQueueBytesTotal)
	case ev.addr != "" && e.addrQueued[ev.addr] >= rt.cfg.MaxQueuePerAddress:
		return fmt.Errorf("%w: %d requests of this client address queued for %s/%s (at most %d)", ErrOverloaded, e.addrQueued[ev.addr], e.ns.name, e.hexID(), rt.cfg.MaxQueuePerAddress)
	}
	return nil
}

// holdAddr counts ev against its client address in e until ev is done. rt.mu and
// e.mu are held.
func (rt *Runtime) holdAddr(e *entity, ev *event) {
	addr := ev.addr
	if e.addrQueued == nil {
		e.addrQueued = map[string]int{}
	}
	e.addrQueued[addr]++
	done := ev.done
	ev.done = func(err error) {
		e.mu.Lock()
		if e.addrQueued[addr]--; e.addrQueued[addr] <= 0 {
			delete(e.addrQueued, addr)
		}
		e.mu.Unlock()
		if done != nil {
			done(err)
		}
	}
}

// holdQueued counts ev's bytes against e and the process until ev is done. rt.mu and
// e.mu are held.
func (rt *Runtime) holdQueued(e *entity, ev *event) {
	n := ev.bytes
	e.queued += n
	rt.queued += n
	done := ev.done
	ev.done = func(err error) {
		rt.mu.Lock()
		e.mu.Lock()
		e.queued -= n
		rt.queued -= n
		e.mu.Unlock()
		rt.mu.Unlock()
		if done != nil {
			done(err)
		}
	}
}

// canQueue reports, as ErrOverloaded, whether an event holding bytes, of client
// address addr, would be refused now, so that a request body need not be read only to
// be refused.
func (rt *Runtime) canQueue(ns *nsCore, id ID, bytes int64, addr string) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if e := rt.objects[objectKey{ns, id.raw}]; e != nil {
		e.mu.Lock()
		defer e.mu.Unlock()
		return rt.queueFullLocked(e, &event{bytes: bytes, addr: addr})
	}
	if bytes > rt.cfg.MaxQueueBytes || rt.queued+bytes > rt.cfg.MaxQueueBytesTotal {
		return fmt.Errorf("%w: %d bytes of requests queued in all (at most %d)", ErrOverloaded, rt.queued, rt.cfg.MaxQueueBytesTotal)
	}
	return nil
}
