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
	mu      sync.Mutex
	all     []firing
	fail    map[string]int // object/name -> failures still to inject
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

// settle waits until no turn is running, so every wake timer is armed again.
func settle(t testing.TB, rt *objecttest.Runtime) {
	t.Helper()
	rt.WaitIdle()
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

func TestAlarmFiresAfterEviction(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	rec := &recorder{}
	ns := registerTimer(t, rt.Runtime, rec)
	at := rt.Clock.Now().Add(time.Hour)
	run(t, ns, "evicted", func(st *object.State) error { return st.SetAlarm(at) })
	settle(t, rt)
	if n := rt.EvictAll(); n != 1 {
		t.Fatalf("evicted %d, want 1", n)
	}
	acts := rt.Stats().Activations
	rt.Clock.Advance(time.Hour)
	eventually(t, "the alarm", func() bool { return len(rec.firings()) == 1 })
	if f := rec.firings()[0]; f.obj != "evicted" || f.at.Before(at) {
		t.Fatalf("firing %+v", f)
	}
	if got := rt.Stats().Activations; got != acts+1 {
		t.Fatalf("activations %d, want %d: the constructor runs before the alarm", got, acts+1)
	}
}

func TestDeleteAlarmCancels(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	rec := &recorder{}
	ns := registerTimer(t, rt.Runtime, rec)
	run(t, ns, "d", func(st *object.State) error { return st.SetAlarm(st.Now().Add(time.Minute)) })
	run(t, ns, "d", func(st *object.State) error { return st.DeleteAlarm() })
	rt.Clock.Advance(time.Hour)
	settle(t, rt)
	if n := len(rec.firings()); n != 0 {
		t.Fatalf("%d firings of a deleted alarm", n)
	}
}

func TestRolledBackTurnLeavesNoAlarm(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	rec := &recorder{}
	ns := registerTimer(t, rt.Runtime, rec)
	err := ns.RunLocal(context.Background(), ns.GetByName("r"), func(ctx context.Context, obj *Timer) error {
		if err := obj.st.SetAlarm(obj.st.Now().Add(time.Minute)); err != nil {
			return err
		}
		if err := obj.st.Schedule("s", object.Every(time.Second), nil); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("turn succeeded")
	}
	run(t, ns, "r", func(st *object.State) error {
		if _, ok, _ := st.GetAlarm(); ok {
			return errors.New("alarm survived the rollback")
		}
		if s, _ := st.Schedules(); len(s) != 0 {
			return fmt.Errorf("schedules survived the rollback: %v", s)
		}
		return nil
	})
	rt.Clock.Advance(time.Hour)
	settle(t, rt)
	if n := len(rec.firings()); n != 0 {
		t.Fatalf("%d firings of a rolled-back alarm", n)
	}
}

func TestFailingAlarmIsRetriedWithBackoff(t *testing.T) {
	for _, tc := range []struct {
		jitter float64
		factor float64 // of 2s × 2ⁿ
	}{{0.5, 1}, {0, 0.75}, {0.75, 1.125}} {
		t.Run(fmt.Sprint(tc.jitter), func(t *testing.T) {
			rt := objecttest.New(t, object.Config{AlarmJitter: func() float64 { return tc.jitter }})
			rec := &recorder{fail: map[string]int{"f/": 100}}
			ns := registerTimer(t, rt.Runtime, rec)
			at := rt.Clock.Now().Add(10 * time.Second)
			run(t, ns, "f", func(st *object.State) error { return st.SetAlarm(at) })
			want := []time.Time{at}
			next := at
			for n := range 6 {
				next = next.Add(time.Duration(tc.factor * float64(2*time.Second<<n)))
				want = append(want, next)
			}
			for i, w := range want {
				settle(t, rt)
				rt.Clock.Set(w.Add(-time.Millisecond))
				settle(t, rt)
				if got := len(rec.firings()); got != i {
					t.Fatalf("%d attempts before %v, want %d", got, w, i)
				}
				rt.Clock.Set(w)
				eventually(t, fmt.Sprintf("attempt %d", i), func() bool { return len(rec.firings()) == i+1 })
				f := rec.firings()[i]
				if !f.at.Equal(w) || f.retry != i || !f.scheduled.Equal(at) {
					t.Fatalf("attempt %d: %+v; want at %v, retry %d, scheduled %v", i, f, w, i, at)
				}
			}
			settle(t, rt)
			rt.Clock.Advance(24 * time.Hour)
			settle(t, rt)
			if got := len(rec.firings()); got != 7 {
				t.Fatalf("%d attempts, want 7 (1 + 6 retries)", got)
			}
			run(t, ns, "f", func(st *object.State) error {
				if _, ok, _ := st.GetAlarm(); ok {
					return errors.New("alarm still set after its last retry")
				}
				return nil
			})
			if s := rt.Stats(); s.AlarmRuns != 7 || s.AlarmRetries != 6 || s.AlarmFailures != 7 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func TestSetAlarmInFailingHandlerSuppressesRetry(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	rec := &recorder{}
	calls := 0
	rec.onAlarm = func(st *object.State) error {
		calls++
		if calls > 1 {
			return nil
		}
		if err := st.SetAlarm(st.Now().Add(time.Hour)); err != nil {
			return err
		}
		return errors.New("fail after setting the next alarm")
	}
	ns := registerTimer(t, rt.Runtime, rec)
	start := rt.Clock.Now()
	run(t, ns, "s", func(st *object.State) error { return st.SetAlarm(start.Add(time.Second)) })
	settle(t, rt)
	rt.Clock.Advance(time.Second)
	eventually(t, "first attempt", func() bool { return len(rec.firings()) == 1 })
	settle(t, rt)
	rt.Clock.Advance(10 * time.Minute)
	settle(t, rt)
	if n := len(rec.firings()); n != 1 {
		t.Fatalf("%d attempts: the failed alarm was retried although it set a new one", n)
	}
	rt.Clock.Set(start.Add(time.Second + time.Hour))
	eventually(t, "the new alarm", func() bool { return len(rec.firings()) == 2 })
	if f := rec.firings()[1]; f.retry != 0 || !f.scheduled.Equal(start.Add(time.Second+time.Hour)) {
		t.Fatalf("second firing %+v", f)
	}
}

func TestEveryAndCronFireRepeatedly(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	rec := &recorder{}
	ns := registerTimer(t, rt.Runtime, rec)
	start := rt.Clock.Now() // 2030-01-01T00:00:00Z
	run(t, ns, "rep", func(st *object.State) error {
		if err := st.Schedule("tick", object.Every(10*time.Second), []byte("p")); err != nil {
			return err
		}
		if err := st.Schedule("cron", object.Cron("*/5 * * * *"), nil); err != nil {
			return err
		}
		return st.Schedule("once", object.After(25*time.Second), []byte("o"))
	})
	run(t, ns, "rep", func(st *object.State) error {
		s, err := st.Schedules()
		if err != nil {
			return err
		}
		if len(s) != 3 || s[0].Name != "cron" || s[0].Spec.String() != "cron */5 * * * *" || !s[0].Next.Equal(start.Add(5*time.Minute)) ||
			s[1].Name != "once" || !s[1].Next.Equal(start.Add(25*time.Second)) || s[2].Spec.String() != "every 10s" || string(s[2].Payload) != "p" {
			return fmt.Errorf("Schedules() = %+v", s)
		}
		return nil
	})
	// 11 minutes in 5 s steps: each step lands on due times and never jumps over one,
	// so no timer is re-armed while the fake clock moves.
	for range 12 * 11 {
		rt.Clock.Advance(5 * time.Second)
		settle(t, rt)
	}
	count := map[string][]time.Time{}
	for _, f := range rec.firings() {
		if f.at.Before(f.scheduled) {
			t.Fatalf("early firing %+v", f)
		}
		count[f.name] = append(count[f.name], f.scheduled)
	}
	if n := len(count["tick"]); n != 66 {
		t.Errorf("every 10s fired %d times in 11 minutes, want 66", n)
	}
	if got := count["cron"]; len(got) != 2 || !got[0].Equal(start.Add(5*time.Minute)) || !got[1].Equal(start.Add(10*time.Minute)) {
		t.Errorf("cron firings %v", got)
	}
	if n := len(count["once"]); n != 1 {
		t.Errorf("once fired %d times", n)
	}
	run(t, ns, "rep", func(st *object.State) error {
		if ok, err := st.Unschedule("tick"); !ok || err != nil {
			return fmt.Errorf("Unschedule = %v, %v", ok, err)
		}
		return st.Storage().DeleteAll()
	})
	before := len(rec.firings())
	rt.Clock.Advance(time.Hour)
	settle(t, rt)
	if n := len(rec.firings()); n != before {
		t.Fatalf("%d firings after Unschedule and DeleteAll", n-before)
	}
}

func TestScheduleErrors(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	ns := registerTimer(t, rt.Runtime, &recorder{})
	run(t, ns, "e", func(st *object.State) error {
		for _, sp := range []object.Spec{object.Cron("61 * * * *"), object.Cron(""), object.Every(0), object.After(-time.Second), {}} {
			if err := st.Schedule("x", sp, nil); !errors.Is(err, object.ErrBadSpec) {
				return fmt.Errorf("Schedule(%v) = %v, want ErrBadSpec", sp, err)
			}
		}
		if err := st.Schedule("", object.Every(time.Second), nil); err == nil {
			return errors.New("empty name accepted")
		}
		return nil
	})
}

// TestThousandAlarmsAcrossRestart sets 1,000 alarms (10 schedules on each of 100
// objects), restarts the runtime halfway, and checks that each fires at least once
// and none before its time.
func TestThousandAlarmsAcrossRestart(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	rec := &recorder{}
	ns := registerTimer(t, rt.Runtime, rec)
	start := rt.Clock.Now()
	type key struct{ obj, name string }
	due := map[key]time.Time{}
	for o := range 100 {
		obj := fmt.Sprintf("o%d", o)
		run(t, ns, obj, func(st *object.State) error {
			for i := range 10 {
				// spread over two hours, deterministic, with collisions
				at := start.Add(time.Duration((o*7919+i*104729)%7200) * time.Second)
				name := fmt.Sprintf("s%d", i)
				due[key{obj, name}] = at
				if err := st.Schedule(name, object.At(at), nil); err != nil {
					return err
				}
			}
			return nil
		})
	}
	const step = 5 * time.Minute
	check := func(rt *objecttest.Runtime) {
		// everything due a step ago has fired (a timer armed while the clock moved may
		// land up to one step after its time; never before it)
		now := rt.Clock.Now()
		var missing string
		defer func() {
			if t.Failed() {
				t.Log("missing:", missing)
			}
		}()
		eventually(t, "due alarms", func() bool {
			fired := map[key]bool{}
			for _, f := range rec.firings() {
				fired[key{f.obj, f.name}] = true
			}
			for k, at := range due {
				if !at.After(now.Add(-step)) && !fired[k] {
					rt.Clock.Advance(0)
					missing = fmt.Sprintf("%v due %v (now %v)", k, at, now)
					return false
				}
			}
			return true
		})
	}
	for rt.Clock.Now().Before(start.Add(time.Hour)) {
		rt.Clock.Advance(step)
		settle(t, rt)
		check(rt)
	}
	rt = rt.Restart(t, object.Config{})
	ns = registerTimer(t, rt.Runtime, rec)
	for rt.Clock.Now().Before(start.Add(2*time.Hour + 2*step)) {
		rt.Clock.Advance(step)
		settle(t, rt)
		check(rt)
	}
	fired := map[key]int{}
	for _, f := range rec.firings() {
		k := key{f.obj, f.name}
		if f.at.Before(due[k]) || !f.scheduled.Equal(due[k]) {
			t.Fatalf("firing %+v for an alarm due at %v", f, due[k])
		}
		fired[k]++
	}
	for k := range due {
		if fired[k] == 0 {
			t.Errorf("%v never fired", k)
		}
	}
	t.Logf("%d firings for %d alarms", len(rec.firings()), len(due))
}
