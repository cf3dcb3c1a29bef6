package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Ownership: the owners bucket maps each object key to its owner's claim. Guarantees:
//
//   - A claim is written by compare-and-set (Create for an object never claimed,
//     Update on the revision read otherwise), so among concurrent claimants exactly
//     one wins; the others learn the winner.
//   - The claim's epoch is the revision of that write: unique across all objects and
//     increasing with every change of owner.
//   - Ownership is sticky: a claim held by a live node is never taken over by another
//     node. A claim whose node is dead (tombstoned, or expired and then tombstoned by
//     the claimant) is taken over by the next claimant; a claim of a node's earlier
//     incarnation is taken over by that node.
//
// A claim alone does not stop a previous owner from committing: the epoch record the
// new owner appends to the object's log does (log.go).

// Claim is an object's owner: a node incarnation and the epoch of its claim.
type Claim struct {
	Node        string `json:"node"`
	Incarnation string `json:"inc"`
	Epoch       uint64 `json:"-"` // the revision of the claim in the owners bucket
}

// claimAttempts bounds the rounds of read-then-write a claim or a fence makes
// (about 2 s of backoff).
const claimAttempts = 8

// writeAttempt bounds one compare-and-set write of a claim or a fence: the first
// one writeFirst, doubling with every attempt up to writeAttempt. A write to a
// stream whose leader died goes unanswered until a new leader is elected (see
// reread.go), and one sent as the new leader takes over can go unanswered too (a
// fence's append was seen to wait out its whole bound, then land at once when sent
// again: 2 s of a failover, issue 19); the round after a write without an answer
// reads first, which tells whether it landed, so writing again is safe. Under load a
// write may need longer than writeFirst: the later attempts wait longer.
const (
	writeFirst   = 500 * time.Millisecond
	writeAttempt = 2 * time.Second
)

// writeWithin is the bound of write attempt (0 for the first).
func writeWithin(attempt int) time.Duration {
	return min(writeFirst<<min(attempt, 8), writeAttempt)
}

// backoff waits before attempt (none before the first): 10 ms, doubling, at most
// 500 ms. A write that lost a compare-and-set may have lost to one still on its way
// through the stream's Raft group: the leader refuses competing writes before it can
// show the winning one to a read.
func backoff(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(min(10*time.Millisecond<<attempt, 500*time.Millisecond)):
		return nil
	}
}

// claimObject makes self the owner of the object key, unless a live node owns it
// (then the error is an *OwnedError). nodes is the nodes bucket, used to check the
// current owner's liveness and to tombstone it when its lease has expired.
func claimObject(ctx context.Context, owners, nodes *bucket, key string, self Claim) (Claim, error) {
	val, err := json.Marshal(self)
	if err != nil {
		return Claim{}, err
	}
	for attempt := range claimAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return Claim{}, err
		}
		cur, rev, err := readClaim(ctx, owners, key)
		if err != nil {
			return Claim{}, err
		}
		if rev != 0 && cur.Node == self.Node && cur.Incarnation == self.Incarnation {
			return cur, nil // ours already
		}
		if rev != 0 {
			wctx, cancel := context.WithTimeout(ctx, writeWithin(attempt))
			dead, owner, err := ownerDead(wctx, nodes, cur, self.Node)
			cancel()
			if unanswered(err) && ctx.Err() == nil {
				continue // the tombstone's write went unanswered: read again
			}
			if err != nil {
				return Claim{}, err
			}
			if !dead {
				return Claim{}, &OwnedError{Owner: cur, Addr: owner.Addr}
			}
		}
		var newRev uint64
		wctx, cancel := context.WithTimeout(ctx, writeWithin(attempt))
		if rev == 0 {
			newRev, err = owners.create(wctx, key, val)
		} else {
			newRev, err = owners.Update(wctx, key, val, rev)
		}
		cancel()
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue // someone else wrote first: read who, and defer to them if alive
		}
		if unanswered(err) && ctx.Err() == nil {
			continue // unanswered, maybe written: the next read tells (ours already, or not)
		}
		if err != nil {
			return Claim{}, fmt.Errorf("cluster: claim %s: %w", key, err)
		}
		self.Epoch = newRev
		return self, nil
	}
	// Still losing after several rounds: defer to whoever the directory names now.
	cur, _, err := readClaim(ctx, owners, key)
	if err != nil {
		return Claim{}, err
	}
	owner, _, err := lookupMember(ctx, nodes, cur.Node)
	if err != nil {
		return Claim{}, err
	}
	return Claim{}, &OwnedError{Owner: cur, Addr: owner.Addr}
}

// readClaim returns the object's claim and its revision, read from the owners
// bucket's leader; revision 0 means unclaimed.
func readClaim(ctx context.Context, owners *bucket, key string) (Claim, uint64, error) {
	val, rev, found, err := owners.get(ctx, key)
	if err != nil || !found {
		return Claim{}, 0, err
	}
	var c Claim
	if err := json.Unmarshal(val, &c); err != nil {
		return Claim{}, 0, fmt.Errorf("cluster: bad owner value for %s: %w", key, err)
	}
	c.Epoch = rev
	return c, rev, nil
}

// ownerDead reports whether the claim's node incarnation is dead for certain, and
// the owner's entry when it is alive. A claim by an earlier incarnation of this very
// node is dead (a node registers again only after its lease ran out). A node whose
// key had expired is dead once this call tombstoned it, and so is one whose key holds
// a tombstone once a write confirmed it (confirmDead): the decision is a write's. A
// live node with another incarnation than the claim's is treated as the owner (a
// read may be stale): requests go to it, and it reclaims the object itself.
func ownerDead(ctx context.Context, nodes *bucket, c Claim, self string) (bool, member, error) {
	if c.Node == self {
		return true, member{}, nil
	}
	m, ok, err := lookupMember(ctx, nodes, c.Node)
	switch {
	case err != nil:
		return false, member{}, err
	case ok && m.alive():
		return false, m, nil
	}
	// Absent (expired): tombstone it. A tombstone: confirmed by a write, as a read
	// alone may be stale (confirmDead).
	dead, err := tombstone(ctx, nodes, c.Node, self)
	if err == nil && !dead {
		// Alive after all (a registration the read missed): the caller reads again.
		m, _, err = lookupMember(ctx, nodes, c.Node)
	}
	return dead, m, err
}

// preferredNode returns the node a rendezvous (highest random weight) hash prefers
// for key among nodes, or "" when nodes is empty. Every node computes the same
// answer from the same list, and removing a node moves only that node's objects.
func preferredNode(key string, nodes []string) string {
	var best string
	var bestScore uint64
	for _, n := range nodes {
		h := sha256.Sum256([]byte(n + "\x00" + key))
		if s := binary.BigEndian.Uint64(h[:8]); best == "" || s > bestScore {
			best, bestScore = n, s
		}
	}
	return best
}
