package objecttest

import (
	"sort"
	"sync"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// Clock is a fake object.Clock. Time moves only when Advance, Set or Jump is called;
// timers due by then fire, in time order, before Advance returns.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	seq    int
}

// NewClock returns a Clock set to 2030-01-01 00:00:00 UTC.
func NewClock() *Clock { return &Clock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} }

type fakeTimer struct {
	c       *Clock
	when    time.Time
	seq     int
	f       func()
	stopped bool
}

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f at Now()+d.
func (c *Clock) AfterFunc(d time.Duration, f func()) object.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, when: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop cancels the timer if it has not fired.
func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.stopped {
		return false
	}
	t.stopped = true
	return true
}

// Advance moves time forward by d, firing due timers one at a time (each synchronously).
func (c *Clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Set moves time to t (never backwards), firing due timers.
func (c *Clock) Set(t time.Time) {
	for {
		c.mu.Lock()
		sort.Slice(c.timers, func(i, j int) bool {
			a, b := c.timers[i], c.timers[j]
			return a.when.Before(b.when) || a.when.Equal(b.when) && a.seq < b.seq
		})
		var due *fakeTimer
		for len(c.timers) > 0 {
			first := c.timers[0]
			if first.stopped {
				c.timers = c.timers[1:]
				continue
			}
			if !first.when.After(t) {
				due = first
				c.timers = c.timers[1:]
				due.stopped = true
				if due.when.After(c.now) {
					c.now = due.when
				}
			}
			break
		}
		if due == nil {
			if t.After(c.now) {
				c.now = t
			}
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		due.f()
	}
}

// Jump steps the wall clock by d, forward or back, without firing timers: what an NTP
// step or a resumed virtual machine does to the real clock. Timers keep the time they
// have left, as the real ones (on the monotonic clock) do.
func (c *Clock) Jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		t.when = t.when.Add(d)
	}
}

// Pending returns how many timers have not fired or been stopped.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped {
			n++
		}
	}
	return n
}
