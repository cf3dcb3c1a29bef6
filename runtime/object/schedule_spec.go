package object

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Spec says when a named schedule fires: once at a time (At, After), or repeatedly
// (Every, Cron). Build one with At, After, Every, Cron or ParseSpec. An invalid spec
// carries its error, which Err and State.Schedule return.
type Spec struct {
	kind  specKind
	at    time.Time
	every time.Duration
	expr  string
	cron  cron.Schedule
	err   error
}

type specKind uint8

const (
	specNone specKind = iota
	specAt
	specAfter
	specEvery
	specCron
)

// Bounds of specs. Times are stored with nanosecond precision as int64 Unix times, so
// they must lie before MaxScheduleTime.
const (
	MinEvery = time.Millisecond
)

// MaxScheduleTime is the latest time an alarm or schedule may be set to.
var MaxScheduleTime = time.Unix(0, math.MaxInt64).Add(-24 * time.Hour).UTC()

// At fires once at t (immediately if t is not in the future).
func At(t time.Time) Spec {
	if t.After(MaxScheduleTime) {
		return Spec{err: fmt.Errorf("%w: time %v is after %v", ErrBadSpec, t, MaxScheduleTime)}
	}
	return Spec{kind: specAt, at: t}
}

// After fires once, d after the turn that schedules it.
func After(d time.Duration) Spec {
	if d < 0 {
		return Spec{err: fmt.Errorf("%w: negative delay %v", ErrBadSpec, d)}
	}
	return Spec{kind: specAfter, every: d}
}

// Every fires every d, the first time d after the turn that schedules it. Missed
// occurrences (the process was down) fire once, then the rhythm resumes.
func Every(d time.Duration) Spec {
	if d < MinEvery {
		return Spec{err: fmt.Errorf("%w: interval %v is under %v", ErrBadSpec, d, MinEvery)}
	}
	return Spec{kind: specEvery, every: d}
}

// cronParser accepts the standard five fields (minute hour day-of-month month
// day-of-week), an optional leading seconds field, descriptors such as @hourly and
// "@every 1h30m", and a CRON_TZ=Area/City prefix. Without a prefix times are UTC.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Cron fires at the times a cron expression names (github.com/robfig/cron/v3
// syntax: five fields, or six with leading seconds, descriptors like @daily and
// "@every 5m", an optional CRON_TZ= prefix; UTC otherwise). A malformed expression
// gives a Spec whose Err says why.
func Cron(expr string) Spec {
	expr = strings.TrimSpace(expr)
	sched, err := parseCron(expr)
	if err != nil {
		return Spec{err: fmt.Errorf("%w: cron %q: %v", ErrBadSpec, expr, err)}
	}
	return Spec{kind: specCron, expr: expr, cron: sched}
}

func parseCron(expr string) (s cron.Schedule, err error) {
	if expr == "" {
		return nil, errors.New("empty expression")
	}
	if len(expr) > 256 {
		return nil, errors.New("expression longer than 256 bytes")
	}
	defer func() {
		if v := recover(); v != nil {
			s, err = nil, fmt.Errorf("parser panicked: %v", v)
		}
	}()
	return cronParser.Parse(expr)
}

// ParseSpec parses the text form that Spec.String returns:
//
//	at 2030-01-01T00:00:00Z   (RFC 3339)
//	after 90s                 (Go duration)
//	every 5m                  (Go duration)
//	cron */5 * * * *          (see Cron)
func ParseSpec(s string) (Spec, error) {
	word, rest, _ := strings.Cut(strings.TrimSpace(s), " ")
	rest = strings.TrimSpace(rest)
	var sp Spec
	switch word {
	case "at":
		t, err := time.Parse(time.RFC3339Nano, rest)
		if err != nil {
			return Spec{}, fmt.Errorf("%w: %q: %v", ErrBadSpec, s, err)
		}
		sp = At(t)
	case "after", "every":
		d, err := time.ParseDuration(rest)
		if err != nil {
			return Spec{}, fmt.Errorf("%w: %q: %v", ErrBadSpec, s, err)
		}
		if word == "after" {
			sp = After(d)
		} else {
			sp = Every(d)
		}
	case "cron":
		sp = Cron(rest)
	default:
		return Spec{}, fmt.Errorf("%w: %q: want \"at <RFC 3339 time>\", \"after <duration>\", \"every <duration>\" or \"cron <expression>\"", ErrBadSpec, s)
	}
	return sp, sp.err
}

// Err reports why the spec is invalid, or nil.
func (s Spec) Err() error {
	if s.err == nil && s.kind == specNone {
		return fmt.Errorf("%w: zero Spec", ErrBadSpec)
	}
	return s.err
}

// Repeats reports whether the spec fires more than once (Every and Cron).
func (s Spec) Repeats() bool { return s.kind == specEvery || s.kind == specCron }

// String returns the spec in the form ParseSpec reads.
func (s Spec) String() string {
	switch s.kind {
	case specAt:
		return "at " + s.at.UTC().Format(time.RFC3339Nano)
	case specAfter:
		return "after " + s.every.String()
	case specEvery:
		return "every " + s.every.String()
	case specCron:
		return "cron " + s.expr
	}
	if s.err != nil {
		return "invalid: " + s.err.Error()
	}
	return "invalid: zero Spec"
}

// first returns the first firing of a spec scheduled at now.
func (s Spec) first(now time.Time) (time.Time, error) {
	switch s.kind {
	case specAt:
		return s.at, nil
	case specAfter:
		return s.checkTime(now.Add(s.every))
	}
	return s.next(now, now)
}

// next returns the first firing strictly after now of a repeating spec whose
// previous occurrence was scheduled at prev.
func (s Spec) next(prev, now time.Time) (time.Time, error) {
	switch s.kind {
	case specEvery:
		t := prev.Add(s.every)
		if !t.After(now) {
			// Skip missed occurrences, keeping the rhythm: prev + k*every > now.
			k := now.Sub(prev)/s.every + 1
			t = prev.Add(k * s.every)
		}
		return s.checkTime(t)
	case specCron:
		t := s.cron.Next(now.UTC())
		if t.IsZero() {
			return time.Time{}, fmt.Errorf("%w: cron %q never fires after %v", ErrBadSpec, s.expr, now.UTC())
		}
		return s.checkTime(t)
	}
	return time.Time{}, s.Err()
}

func (s Spec) checkTime(t time.Time) (time.Time, error) {
	if t.After(MaxScheduleTime) || t.Year() < 1970 {
		return time.Time{}, fmt.Errorf("%w: %s gives a time out of range", ErrBadSpec, s)
	}
	return t, nil
}
