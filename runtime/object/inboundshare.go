package object

import "sync"

// Each client address's share of an object's queue. Received messages wait for their
// turns in the object's queue (Config.MaxQueue events), and a message that finds it
// full is undeliverable: its socket is closed with 1013. Bounding each socket
// (SocketConfig.InboundQueue) was not enough: one client with a few sockets filled the
// queue, and the sockets of other clients of the object were closed for it. So the
// messages of one client address (its IP, an IPv6 address by its /64) waiting in one
// object are bounded too (Config.MaxQueuePerAddress, 1/16 of the queue by default):
// at that bound the address's sockets are no longer read (TCP back-pressure, as at a
// socket's own bound), nothing of theirs is lost, and the rest of the queue stays free
// for every other client. HTTP requests count against the same bound (queue.go), and
// are refused beyond it.

// addrShares counts, per client address, the received messages of one object's
// sockets that wait for (or are in) their turn.
type addrShares struct {
	mu      sync.Mutex
	cond    sync.Cond
	waiting map[string]int
}

// acquire waits until addr has fewer than max messages waiting, and counts one more.
func (s *addrShares) acquire(addr string, max int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waiting == nil {
		s.waiting = map[string]int{}
		s.cond.L = &s.mu
	}
	for s.waiting[addr] >= max {
		s.cond.Wait()
	}
	s.waiting[addr]++
}

// release counts one message of addr done and wakes the readers waiting for a share.
func (s *addrShares) release(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waiting[addr]--; s.waiting[addr] <= 0 {
		delete(s.waiting, addr)
	}
	s.cond.Broadcast()
}
