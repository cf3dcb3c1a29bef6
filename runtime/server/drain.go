package server

import (
	"net/http"
	"sync"
	"time"
)

// Request bodies still arriving when the server shuts down. A graceful shutdown waits
// for the requests in progress, and a request whose body trickles in is in progress
// until Config.ReadTimeout (30 s by default), longer than Config.ShutdownTimeout: one
// slow client held every shutdown to its timeout, which then failed. So Shutdown cuts
// them: a body still being read gets a read deadline half the shutdown timeout away
// (or its own ReadTimeout, if that is sooner), its request is answered 408 (object
// requests, see readPartyBody; an app's handler sees a timeout error) and nothing of it
// reaches an object, and the shutdown ends in time with the requests that did arrive
// answered.

// arrivingBodies is the set of request bodies being read, for Shutdown to cut.
type arrivingBodies struct {
	mu      sync.Mutex
	reading map[*budgetedBody]struct{}
	cutAt   time.Time // set by cut: bodies that start later get it at once
}

// add records b, whose request is answered through rc and must arrive by deadline
// (its ReadTimeout), until done. rc must not be used after the request's handler
// returns: the caller calls done before.
func (a *arrivingBodies) add(b *budgetedBody, rc *http.ResponseController, deadline time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.reading == nil {
		a.reading = map[*budgetedBody]struct{}{}
	}
	b.rc, b.deadline, b.arriving = rc, deadline, a
	a.reading[b] = struct{}{}
	if !a.cutAt.IsZero() {
		rc.SetReadDeadline(earlier(a.cutAt, deadline)) //nolint:errcheck // not supported by recorders
	}
}

// done forgets b: its body was read to its end, or its request is answered.
func (a *arrivingBodies) done(b *budgetedBody) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.reading, b)
}

// cut moves the read deadline of every body still arriving, and of those that start
// from now on, to at, or leaves it where it is if that is sooner (the request's
// ReadTimeout): a deadline only moves closer.
func (a *arrivingBodies) cut(at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cutAt = at
	for b := range a.reading {
		b.rc.SetReadDeadline(earlier(at, b.deadline)) //nolint:errcheck // not supported by recorders
	}
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
