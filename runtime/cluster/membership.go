package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Membership: each node holds a lease, its key in the nodes bucket, whose TTL (the
// bucket's) is the lease TTL. The node renews it by compare-and-set on its own last
// revision. Guarantees:
//
//   - A node considers itself alive only until sendTime(last successful renewal) +
//     TTL − margin on its monotonic clock. The key cannot expire on the bucket's
//     leader before sendTime + TTL, so with clocks that drift less than the margin
//     over a TTL, a node stops serving before anyone can declare it dead.
//   - A node is declared dead only by a write: creating its key with a tombstone,
//     which succeeds only once the leader has expired the key. After that the old
//     holder's next renewal fails, so it knows for certain.
//   - A lease is renewed only while it is valid, and a renewal counts only if its
//     answer came before the lease's end: every renewal that counts landed at least
//     the margin before the key could expire, never racing the expiry. Once the end
//     passed, the incarnation is lost for good: the node registers a new one, so
//     nothing opened under the old one is ever valid again.
//   - The writes above are what decide; the reads that lead to them go to the
//     bucket's leader (bucket.go), and the watched view of all members is a hint.

// member is a node's value in the nodes bucket.
type member struct {
	Incarnation string `json:"inc,omitempty"` // random, new at every registration
	Addr        string `json:"addr,omitempty"`
	Region      string `json:"region,omitempty"`
	DeadBy      string `json:"dead_by,omitempty"` // set on a tombstone: who declared the node dead
}

func (m member) alive() bool { return m.DeadBy == "" && m.Incarnation != "" }

func decodeMember(b []byte) (member, error) {
	var m member
	if err := json.Unmarshal(b, &m); err != nil {
		return member{}, fmt.Errorf("cluster: bad member value: %w", err)
	}
	return m, nil
}

func newIncarnation() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// lease is this node's membership.
type lease struct {
	kv     *bucket
	name   string
	clock  Clock
	ttl    time.Duration
	margin time.Duration

	mu       sync.Mutex
	self     member
	rev      uint64        // revision of our last write of the key
	deadline time.Duration // on clock; zero when not registered or lost
}

// register writes the node's key with a new incarnation. It takes over the key when
// it holds a tombstone or this node's previous incarnation, and fails with
// ErrNameInUse when another live incarnation holds it (another process with the same
// name, or this node's own previous life whose lease has not expired yet).
func (l *lease) register(ctx context.Context) error {
	l.mu.Lock()
	prev := l.self.Incarnation
	m := l.self
	m.Incarnation = newIncarnation()
	l.mu.Unlock()
	val, err := json.Marshal(m)
	if err != nil {
		return err
	}
	sent := l.clock.Now()
	rev, err := l.kv.create(ctx, l.name, val)
	if errors.Is(err, jetstream.ErrKeyExists) {
		var cur []byte
		var curRev uint64
		var found bool
		if cur, curRev, found, err = l.kv.get(ctx, l.name); err != nil {
			return fmt.Errorf("cluster: register %s: %w", l.name, err)
		}
		old, derr := decodeMember(cur)
		if found && derr == nil && old.alive() && old.Incarnation != prev {
			return fmt.Errorf("%w: %s (incarnation %s; if it was this node's previous process, its lease ends within %v)", ErrNameInUse, l.name, old.Incarnation, l.ttl)
		}
		rev, err = l.kv.Update(ctx, l.name, val, curRev)
	}
	if err != nil {
		return fmt.Errorf("cluster: register %s: %w", l.name, err)
	}
	l.mu.Lock()
	l.self, l.rev, l.deadline = m, rev, sent+l.ttl-l.margin
	l.mu.Unlock()
	return nil
}

// renew extends the lease by compare-and-set on its last revision, only while it is
// valid: a lease whose local end passed is lost for good, whatever the bucket says
// afterwards. Renewing it would make its incarnation valid again while another node
// may already hold its objects (once the key's TTL ran out on the bucket, which the
// bucket judges on its own clock, a renewal landing about then races the expiry), and
// an instance of it that kept running (a turn blocked across the lapse, a pinned
// object, a socket) would serve again. So a renewal is not sent once the local end
// passed, and one whose answer comes after it does not count. ErrLeaseExpired means
// the lease is lost (lapsed here, or the key changed under it: expired, tombstoned):
// the node must register again under a new incarnation, and everything opened under
// this one stays refused. Any other error leaves the lease to run out.
func (l *lease) renew(ctx context.Context) error {
	l.mu.Lock()
	m, rev, end := l.self, l.rev, l.deadline
	l.mu.Unlock()
	if l.lapsed(end) {
		return l.lose(rev, m.Incarnation, fmt.Errorf("%w: %s lapsed here (its end passed on the local clock)", ErrLeaseExpired, l.name))
	}
	val, err := json.Marshal(m)
	if err != nil {
		return err
	}
	sent := l.clock.Now()
	newRev, err := l.kv.Update(ctx, l.name, val, rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !l.lapsed(end) {
		// A renewal that timed out here may have landed: then the key still holds
		// this incarnation at a later revision, and renewing on that one is safe
		// (a tombstone would have replaced the value).
		if latest, ok := l.ownRevision(ctx, m.Incarnation); ok && !l.lapsed(end) {
			newRev, err = l.kv.Update(ctx, l.name, val, latest)
		}
	}
	if l.lapsed(end) {
		// Answered after the lease's end: it may have landed after the key expired on
		// the bucket, and the lapse was seen (objects closed): lost either way.
		return l.lose(rev, m.Incarnation, fmt.Errorf("%w: %s lapsed while its renewal was under way", ErrLeaseExpired, l.name))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rev != rev || l.self.Incarnation != m.Incarnation {
		return ErrLeaseExpired // registered again meanwhile: this renewal is stale
	}
	switch {
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		l.deadline = 0
		return fmt.Errorf("%w: %s was expired or declared dead", ErrLeaseExpired, l.name)
	case err != nil:
		return fmt.Errorf("cluster: renew %s: %w", l.name, err)
	}
	l.rev, l.deadline = newRev, sent+l.ttl-l.margin
	return nil
}

// lapsed reports whether the lease end (on the local clock) has passed; zero (never
// registered, or lost) counts as passed.
func (l *lease) lapsed(end time.Duration) bool {
	return end == 0 || l.clock.Now() >= end
}

// lose marks the lease of incarnation inc at revision rev lost (unless the node
// registered again meanwhile) and returns err.
func (l *lease) lose(rev uint64, inc string, err error) error {
	l.mu.Lock()
	if l.rev == rev && l.self.Incarnation == inc {
		l.deadline = 0
	}
	l.mu.Unlock()
	return err
}

// ownRevision returns the key's revision if it holds incarnation inc, alive.
func (l *lease) ownRevision(ctx context.Context, inc string) (uint64, bool) {
	val, rev, found, err := l.kv.get(ctx, l.name)
	if err != nil || !found {
		return 0, false
	}
	m, err := decodeMember(val)
	return rev, err == nil && m.alive() && m.Incarnation == inc
}

// valid reports whether the lease of incarnation inc is still good by the local
// clock; "" means whichever incarnation is current.
func (l *lease) valid(inc string) bool {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deadline > 0 && now < l.deadline && (inc == "" || inc == l.self.Incarnation)
}

// current returns the node's member value (its incarnation) and when the lease ends
// on the local clock.
func (l *lease) current() (member, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.self, l.deadline
}

// leave deletes the node's key, so others may take its objects at once instead of
// waiting for the lease to expire. The lease is invalid afterwards.
func (l *lease) leave(ctx context.Context) error {
	l.mu.Lock()
	rev, inc := l.rev, l.self.Incarnation
	l.deadline = 0
	l.mu.Unlock()
	err := l.kv.Delete(ctx, l.name, jetstream.LastRevision(rev))
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		if latest, ok := l.ownRevision(ctx, inc); ok { // a late renewal landed
			return l.kv.Delete(ctx, l.name, jetstream.LastRevision(latest))
		}
		return nil // tombstoned or expired already: nothing of ours to delete
	}
	return err
}

// lookupMember reads a node's entry from the bucket's leader. ok is false when the
// key is absent, expired or deleted.
func lookupMember(ctx context.Context, nodes *bucket, node string) (m member, ok bool, err error) {
	val, _, found, err := nodes.get(ctx, node)
	if err != nil || !found {
		return member{}, false, err
	}
	m, err = decodeMember(val)
	return m, err == nil, err
}

// tombstone declares node dead, by creating its key with a tombstone. It reports
// true when the node is dead for certain: this write succeeded (the leader had
// expired or deleted the key), or a tombstone already there was confirmed by a
// write (confirmDead); false when the node's key is live.
func tombstone(ctx context.Context, nodes *bucket, node, by string) (bool, error) {
	val, err := json.Marshal(member{DeadBy: by})
	if err != nil {
		return false, err
	}
	_, err = nodes.create(ctx, node, val)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return false, err
	}
	return confirmDead(ctx, nodes, node, val)
}

// confirmDead decides by a write whether node's key holds a tombstone: it rewrites
// the tombstone it read by compare-and-set on that revision, which the stream's Raft
// group orders after every write acknowledged before it. A read alone is not
// enough: it may be answered by a stream leader that was replaced and does not know
// it yet (a server paused, then resumed: the first answer wins), and show a
// tombstone that a registration of the node has since replaced, so that a live
// node's objects would be claimed while it serves them. It reports false when the
// key holds a live node; a key found gone meanwhile (the tombstone expired) is
// tombstoned again by create (val).
func confirmDead(ctx context.Context, nodes *bucket, node string, val []byte) (bool, error) {
	for attempt := range claimAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return false, err
		}
		cur, rev, found, err := nodes.get(ctx, node)
		if err != nil {
			return false, err
		}
		wctx, cancel := context.WithTimeout(ctx, writeWithin(attempt))
		if !found {
			_, err = nodes.create(wctx, node, val)
		} else if m, derr := decodeMember(cur); derr != nil {
			cancel()
			return false, derr
		} else if m.alive() {
			cancel()
			return false, nil
		} else {
			_, err = nodes.Update(wctx, node, cur, rev) // the same tombstone, confirmed
		}
		cancel()
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch),
			unanswered(err) && ctx.Err() == nil, notReady(err):
			continue // written meanwhile (another confirmation, a registration), or unanswered: read again
		default:
			return false, fmt.Errorf("cluster: confirm %s dead: %w", node, err)
		}
	}
	return false, fmt.Errorf("cluster: confirm %s dead: its key kept moving", node)
}

// notReady reports JetStream's answer to a compare-and-set that a new stream leader
// cannot check yet (10163: it is still applying its log).
func notReady(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == 10163
}

// memberCache follows the nodes bucket with a watch, for choosing preferred owners
// and finding their addresses. It is a hint: a node it lists may be dead.
type memberCache struct {
	mu      sync.Mutex
	members map[string]member
	ready   chan struct{} // closed once the initial values are in
}

// watchMembers starts a cache that runs until ctx ends.
func watchMembers(ctx context.Context, kv jetstream.KeyValue) (*memberCache, error) {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, err
	}
	c := &memberCache{members: map[string]member{}, ready: make(chan struct{})}
	go func() {
		defer w.Stop()
		initial := true
		for e := range w.Updates() {
			if e == nil { // the end of the initial values
				if initial {
					close(c.ready)
					initial = false
				}
				continue
			}
			c.mu.Lock()
			m, err := decodeMember(e.Value())
			if e.Operation() != jetstream.KeyValuePut || err != nil || !m.alive() {
				delete(c.members, e.Key())
			} else {
				c.members[e.Key()] = m
			}
			c.mu.Unlock()
		}
		if initial {
			close(c.ready)
		}
	}()
	return c, nil
}

// live returns the names of the nodes the cache believes alive, sorted.
func (c *memberCache) live() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, 0, len(c.members))
	for n := range c.members {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// get returns a node's cached entry.
func (c *memberCache) get(node string) (member, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.members[node]
	return m, ok
}
