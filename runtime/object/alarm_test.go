package object_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// firing is one handler run as an alarm test object saw it.
type firing struct {
	obj       string
	name      string // "" for the single alarm
	at        time.Time
	scheduled time.Time
	retry     int
	payload   string
}

// recorder collects firings across objects and runtimes.
type recorder struct {
	mu   sync.Mutex
	all  []firing
	fail map[string]int // object/name -> failures still to inject
	onAlarm func(st *object.State) error
}

func (r *recorder) add(f firing) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, f)
	k := f.obj + "/" + f.name
	if r.fail[k] > 0 {
		r.fail[k]--
		return errors.New("injected failure")
	}
	return nil
}

func (r *recorder) firings() []firing {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]firing(nil), r.all...)
}

// Timer is an object with alarms and schedules.
type Timer struct {
	st  *object.State
	rec *recorder
}

func (t *Timer) Alarm(ctx context.Context, info object.AlarmInfo) error {
	if info.IsRetry != (info.RetryCount > 0) {
		return fmt.Errorf("IsRetry %v with RetryCount %d", info.IsRetry, info.RetryCount)
	}
	name, _ := t.st.ID().Name()
	if err := t.rec.add(firing{obj: name, at: t.st.Now(), scheduled: info.ScheduledTime, retry: info.RetryCount}); err != nil {
		return err
	}
	if t.rec.onAlarm != nil {
		return t.rec.onAlarm(t.st)
	}
	return nil
}

func (t *Timer) OnSchedule(ctx context.Context, f object.Firing) error {
	name, _ := t.st.ID().Name()
	return t.rec.add(firing{obj: name, name: f.Name, at: t.st.Now(), scheduled: f.ScheduledTime, retry: f.RetryCount, payload: string(f.Payload)})
}

func registerTimer(t testing.TB, rt *object.Runtime, rec *recorder) *object.Namespace[Timer] {
	t.Helper()
	ns, err := object.Register(rt, "timer", func(ctx context.Context, st *object.State) (*Timer, error) {
		return &Timer{st: st, rec: rec}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func run(t testing.TB, ns *object.Namespace[Timer], name string, fn func(st *object.State) error) {
	t.Helper()
	err := ns.RunLocal(context.Background(), ns.GetByName(name), func(ctx context.Context, obj *Timer) error { return fn(obj.st) })
	if err != nil {
		t.Fatal(err)
	}
}

// eventually waits (in real time, for goroutines only: the fake clock does not
// move) until cond holds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// settle waits until no event is queued or running, the wake index included.
func settle(t testing.TB, rt *objecttest.Runtime) {
	t.Helper()
	time.Sleep(5 * time.Millisecond)
	eventually(t, "quiet runtime", func() bool { return rt.Stats().QueueDepth == 0 })
	time.Sleep(5 * time.Millisecond)
}

func TestAlarmFiresAtItsTimeNotBefore(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	rec := &recorder{}
	ns := registerTimer(t, rt.Runtime, rec)
	start := rt.Clock.Now()
	at := start.Add(time.Minute)
	run(t, ns, "a", func(st *object.State) error { return st.SetAlarm(at) })
	run(t, ns, "a", func(st *object.State) error {
		got, ok, err := st.GetAlarm()
		if err != nil || !ok || !got.Equal(at) {
			return fmt.Errorf("GetAlarm = %v, %v, %v; want %v", got, ok, err, at)
		}
		return nil
	})
	rt.Clock.Advance(59 * time.Second)
	settle(t, rt)
	if n := len(rec.firings()); n != 0 {
		t.Fatalf("%d firings before the alarm's time", n)
	}
	rt.Clock.Advance(time.Second)
	eventually(t, "the alarm", func() bool { return len(rec.firings()) == 1 })
	f := rec.firings()[0]
	if !f.at.Equal(at) || !f.scheduled.Equal(at) || f.retry != 0 {
		t.Fatalf("firing %+v, want at %v", f, at)
	}
	settle(t, rt)
	run(t, ns, "a", func(st *object.State) error {
		if _, ok, _ := st.GetAlarm(); ok {
			return errors.New("alarm still set after it fired")
		}
		return nil
	})
	if s := rt.Stats(); s.AlarmRuns != 1 || s.AlarmFailures != 0 {
		t.Fatalf("stats %+v", s)
	}
}
