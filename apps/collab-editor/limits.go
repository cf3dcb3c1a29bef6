package main

import (
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// bucket is a token bucket: it holds up to burst tokens and gains rate a second.
// Buckets live in memory: they start full after an eviction or a restart.
type bucket struct {
	tokens float64
	at     time.Time
}

// take spends cost tokens at now, if the bucket holds them.
func (b *bucket) take(now time.Time, cost, rate, burst float64) bool {
	if b.at.IsZero() {
		b.tokens = burst
	} else if now.After(b.at) {
		b.tokens = min(burst, b.tokens+now.Sub(b.at).Seconds()*rate)
	}
	b.at = now
	if b.tokens < cost {
		return false
	}
	b.tokens -= cost
	return true
}

// senderLimits are one socket's buckets.
type senderLimits struct {
	awareness bucket // awareness messages relayed
	updates   bucket // update bytes
	syncs     bucket // sync step 1 requests
}

// socketLimits holds the buckets of a document's sockets, dropped when they close.
type socketLimits map[*object.WebSocket]*senderLimits

func (l socketLimits) of(ws *object.WebSocket) *senderLimits {
	s := l[ws]
	if s == nil {
		s = &senderLimits{}
		l[ws] = s
	}
	return s
}

func (l socketLimits) forget(ws *object.WebSocket) { delete(l, ws) }
