package object

import (
	"fmt"
	"time"
)

// Clock is the runtime's source of time. The default is the real clock; objecttest
// provides a fake one so tests of idle eviction and alarms never sleep.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not started; it reports whether it did so.
	Stop() bool
}

// SystemClock is the real clock, the default.
var SystemClock Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time                            { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

func sprint(v any) string { return fmt.Sprint(v) }
