package main

import (
	"fmt"
	"math"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// Limits tunes a room's rate limits, token buckets of Burst frames refilled at Rate
// per second. A frame must find a token in every bucket it draws from, or it is
// refused (chat:error rate_limited) and takes none:
//
//   - per identity (the user's token, or the connection for a token-less client):
//     every frame;
//   - per client address, in this room: every frame, so new identities from one
//     address share one budget;
//   - per room, all senders together: every frame that is broadcast (add, update,
//     delete, typing) and every join/leave announcement, so what any number of
//     senders make a member receive is bounded.
//
// Zero fields take the defaults.
type Limits struct {
	Burst     int     // per identity, default 20
	Rate      float64 // per identity, per second, default 10
	AddrBurst int     // per client address in the room, default 40
	AddrRate  float64 // per client address, per second, default 20
	RoomBurst int     // per room, default 200
	RoomRate  float64 // per room, per second, default 100
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defRate := func(v *float64, d float64) {
		if *v <= 0 || math.IsNaN(*v) {
			*v = d
		}
	}
	def(&l.Burst, 20)
	defRate(&l.Rate, 10)
	def(&l.AddrBurst, 40)
	defRate(&l.AddrRate, 20)
	def(&l.RoomBurst, 200)
	defRate(&l.RoomRate, 100)
	return l
}

// Catch-up budget: the messages a socket is sent in all, chat:resume, chat:history
// and chat:search frames come out of a byte bucket of its own, so a client that
// asks for pages without reading them makes the server hold at most about
// CatchupBurst for it (the runtime closes it once its send queue is full).
const (
	CatchupBurst = 512 << 10 // bytes a socket may be sent at once
	CatchupRate  = 128 << 10 // bytes per second refilled
)

// maxBuckets bounds each map of buckets; beyond it the map starts afresh (full
// buckets), which only ever lets a flood of identities through at the address and
// room limits.
const maxBuckets = 10000

// bucket is a token bucket. It lives in memory and starts full after an eviction
// or a restart. Tokens may go below zero (a page larger than what was left), which
// delays the next refill accordingly.
type bucket struct {
	tokens float64
	at     time.Time
}

// refill adds the tokens earned since the last call, up to burst.
func (b *bucket) refill(now time.Time, burst, rate float64) {
	if b.at.IsZero() {
		b.tokens = burst
	} else if now.After(b.at) {
		b.tokens = min(burst, b.tokens+now.Sub(b.at).Seconds()*rate)
	}
	b.at = now
}

// wait is how long until the bucket holds n tokens again.
func (b *bucket) wait(n, rate float64) time.Duration {
	if b.tokens >= n {
		return 0
	}
	return time.Duration((n - b.tokens) / rate * float64(time.Second))
}

// buckets is a set of buckets of one kind, by key.
type buckets[K comparable] struct {
	m           map[K]*bucket
	burst, rate float64
}

func newBuckets[K comparable](burst int, rate float64) buckets[K] {
	return buckets[K]{m: map[K]*bucket{}, burst: float64(burst), rate: rate}
}

// get returns key's bucket, refilled to now.
func (bs *buckets[K]) get(key K, now time.Time) *bucket {
	b := bs.m[key]
	if b == nil {
		if len(bs.m) >= maxBuckets {
			clear(bs.m)
		}
		b = &bucket{}
		bs.m[key] = b
	}
	b.refill(now, bs.burst, bs.rate)
	return b
}

// limiter holds a room's buckets.
type limiter struct {
	l       Limits
	ids     buckets[string]
	addrs   buckets[string]
	room    bucket
	catchup buckets[*object.WebSocket]
}

func newLimiter(l Limits) *limiter {
	return &limiter{l: l, ids: newBuckets[string](l.Burst, l.Rate), addrs: newBuckets[string](l.AddrBurst, l.AddrRate),
		catchup: newBuckets[*object.WebSocket](CatchupBurst, CatchupRate)}
}

// allow takes one token from p's identity and address buckets, and from the room's
// when broadcast is set, or none when one of them is empty.
func (lm *limiter) allow(now time.Time, p peer, broadcast bool) *FrameError {
	id, addr := lm.ids.get(p.UID, now), lm.addrs.get(p.Addr, now)
	lm.room.refill(now, float64(lm.l.RoomBurst), lm.l.RoomRate)
	var msg string
	switch {
	case id.tokens < 1:
		msg = fmt.Sprintf("slow down: at most %d messages at once, %g per second", lm.l.Burst, lm.l.Rate)
	case addr.tokens < 1:
		msg = fmt.Sprintf("slow down: at most %d messages at once, %g per second from one address", lm.l.AddrBurst, lm.l.AddrRate)
	case broadcast && lm.room.tokens < 1:
		msg = "slow down: this room is busy"
	default:
		id.tokens--
		addr.tokens--
		if broadcast {
			lm.room.tokens--
		}
		return nil
	}
	return &FrameError{Code: ErrRateLimited, Message: msg, RetryAfter: time.Second.Milliseconds()}
}

// announce reports whether a join or leave of p may be broadcast (a token from
// p's address bucket and the room's); connects themselves are never refused.
func (lm *limiter) announce(now time.Time, p peer) bool {
	addr := lm.addrs.get(p.Addr, now)
	lm.room.refill(now, float64(lm.l.RoomBurst), lm.l.RoomRate)
	if addr.tokens < 1 || lm.room.tokens < 1 {
		return false
	}
	addr.tokens--
	lm.room.tokens--
	return true
}

// catchupRoom returns how many catch-up bytes ws may be sent now, or a FrameError
// when its budget is spent (less than minPage left).
func (lm *limiter) catchupRoom(now time.Time, ws *object.WebSocket) (int, *FrameError) {
	b := lm.catchup.get(ws, now)
	if b.tokens < minPage {
		return 0, &FrameError{Code: ErrRateLimited, Message: "catch-up budget spent: ask again later",
			RetryAfter: max(1, b.wait(minPage, CatchupRate).Milliseconds())}
	}
	return min(MaxReplyBytes, int(b.tokens)), nil
}

// spendCatchup charges n bytes sent to ws.
func (lm *limiter) spendCatchup(ws *object.WebSocket, n int) {
	if b := lm.catchup.m[ws]; b != nil {
		b.tokens -= float64(n)
	}
}

// forget drops a closed socket's catch-up bucket.
func (lm *limiter) forget(ws *object.WebSocket) { delete(lm.catchup.m, ws) }

// minPage is the least catch-up budget a page request needs.
const minPage = 8 << 10
