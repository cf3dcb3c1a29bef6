package cluster

import "time"

// Clock reads a monotonic clock: Now never goes back, whatever the wall clock does
// (NTP steps, a suspended VM resuming). A node's lease is judged on it. Tests inject
// a manual one to expire a lease without sleeping.
type Clock interface {
	// Now is the time elapsed since an arbitrary origin fixed for the clock's life.
	Now() time.Duration
}

// monotonicClock is the process's monotonic clock (time.Since reads it, not the wall
// clock).
type monotonicClock struct{ origin time.Time }

func (c monotonicClock) Now() time.Duration { return time.Since(c.origin) }

// SystemClock returns the real monotonic clock, the default.
func SystemClock() Clock { return monotonicClock{origin: time.Now()} }
