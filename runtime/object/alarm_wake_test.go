package object_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Juggler is an object whose schedule handler runs the test's code.
type Juggler struct {
	st *object.State
	j  *juggling
}

type juggling struct {
	mu    sync.Mutex
	fired []string                                      // "name@scheduled-offset"
	start time.Time                                     // offsets are from here
	on    func(st *object.State, f object.Firing) error // runs in OnSchedule and Alarm ("" name)
}

func (j *juggling) log() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.fired...)
}

func (o *Juggler) OnSchedule(ctx context.Context, f object.Firing) error {
	o.j.mu.Lock()
	o.j.fired = append(o.j.fired, fmt.Sprintf("%s@%v", f.Name, f.ScheduledTime.Sub(o.j.start)))
	on := o.j.on
	o.j.mu.Unlock()
	if on != nil {
		return on(o.st, f)
	}
	return nil
}

func (o *Juggler) Alarm(ctx context.Context, info object.AlarmInfo) error {
	return o.OnSchedule(ctx, object.Firing{ScheduledTime: info.ScheduledTime, RetryCount: info.RetryCount})
}

func registerJuggler(t testing.TB, rt *object.Runtime, j *juggling) *object.Namespace[Juggler] {
	t.Helper()
	ns, err := object.Register(rt, "juggler", func(ctx context.Context, st *object.State) (*Juggler, error) {
		return &Juggler{st: st, j: j}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// tick advances the clock n times by d, letting the turns due run after each step.
func tick(rt *objecttest.Runtime, n int, d time.Duration) {
	for range n {
		rt.Clock.Advance(d)
		rt.WaitIdle()
	}
}

func juggle(t testing.TB, ns *object.Namespace[Juggler], fn func(st *object.State) error) {
	t.Helper()
	err := ns.RunLocal(context.Background(), ns.GetByName("j"), func(ctx context.Context, o *Juggler) error { return fn(o.st) })
	if err != nil {
		t.Fatal(err)
	}
}

// TestWakeTurnRereadsEachOccurrence pins defect 3 of the runtime audit: a wake turn read
// every due row first and then fired them, so a handler that unscheduled another due
// schedule did not stop it, and one that postponed it saw the old occurrence fire and
// its completion delete the postponed one (on main before the fix: fired a, b(orig);
// schedules left 0). Each occurrence is now read again just before it fires.
func TestWakeTurnRereadsEachOccurrence(t *testing.T) {
	for _, tc := range []struct {
		name      string
		handle    func(st *object.State) error // what a does to b
		wantFired []string
		wantLeft  []string // schedules left, name@due-offset
		later     []string // fired after another hour
	}{
		{"postpone", func(st *object.State) error { return st.Schedule("b", object.At(st.Now().Add(time.Hour)), nil) },
			[]string{"a@1m0s"}, []string{"b@1h1m0s"}, []string{"a@1m0s", "b@1h1m0s"}},
		{"unschedule", func(st *object.State) error { _, err := st.Unschedule("b"); return err },
			[]string{"a@1m0s"}, nil, []string{"a@1m0s"}},
		{"replace with a repeating one", func(st *object.State) error {
			return st.Schedule("b", object.Every(30*time.Minute), nil)
		}, []string{"a@1m0s"}, []string{"b@31m0s"}, []string{"a@1m0s", "b@31m0s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := objecttest.New(t, object.Config{})
			j := &juggling{start: rt.Clock.Now()}
			ns := registerJuggler(t, rt.Runtime, j)
			at := rt.Clock.Now().Add(time.Minute)
			juggle(t, ns, func(st *object.State) error {
				if err := st.Schedule("a", object.At(at), nil); err != nil {
					return err
				}
				return st.Schedule("b", object.At(at), nil) // same time: a fires first (by name)
			})
			j.on = func(st *object.State, f object.Firing) error {
				if f.Name == "a" {
					return tc.handle(st)
				}
				return nil
			}
			rt.Clock.Advance(time.Minute)
			rt.WaitIdle()
			if diff := cmp.Diff(tc.wantFired, j.log()); diff != "" {
				t.Errorf("fired (-want +got):\n%s", diff)
			}
			var left []string
			juggle(t, ns, func(st *object.State) error {
				all, err := st.Schedules()
				for _, s := range all {
					left = append(left, fmt.Sprintf("%s@%v", s.Name, s.Next.Sub(j.start)))
				}
				return err
			})
			if diff := cmp.Diff(tc.wantLeft, left); diff != "" {
				t.Errorf("schedules left (-want +got):\n%s", diff)
			}
			tick(rt, 70, time.Minute)
			if diff := cmp.Diff(tc.later, j.log()[:min(len(j.log()), len(tc.later))]); diff != "" {
				t.Errorf("fired within the next hour (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAlarmSurvivesWallClockSteppingBack pins defect 6 of the runtime audit: the wake
// entry was popped when the timer fired; if the wall clock stepped back before the wake
// turn ran, the turn found nothing due and nothing re-armed the wake until a restart
// (on main before the fix: alarm runs 0, alarm still set). A wake that finds nothing
// due now re-arms from the object's table.
func TestAlarmSurvivesWallClockSteppingBack(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	j := &juggling{start: rt.Clock.Now()}
	ns := registerJuggler(t, rt.Runtime, j)
	juggle(t, ns, func(st *object.State) error { return st.SetAlarm(st.Now().Add(10 * time.Second)) })

	// Hold the object in a turn so that the wake turn queues behind it, step the clock
	// back 30 s once the wake is dispatched, then let the wake turn run.
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- ns.RunLocal(context.Background(), ns.GetByName("j"), func(ctx context.Context, o *Juggler) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	rt.Clock.Advance(10 * time.Second)
	eventually(t, "the wake to be queued", func() bool { return rt.Stats().QueueDepth == 1 })
	rt.Clock.Jump(-30 * time.Second)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rt.WaitIdle()
	if got := j.log(); len(got) != 0 {
		t.Fatalf("fired %v before its time", got)
	}
	tick(rt, 40, time.Second)
	if diff := cmp.Diff([]string{"@10s"}, j.log()); diff != "" {
		t.Errorf("fired after the clock caught up again (-want +got):\n%s", diff)
	}
}

// TestAlarmFiresPromptlyAfterAForwardJump pins the other half of defect 6: a wall clock
// that jumps ahead (a virtual machine resumed after a suspend) must fire the alarms now
// due promptly, not when the timer armed on the monotonic clock runs out. On main
// before the fix, an alarm 10 minutes ahead fired 10 minutes after a 1 hour jump.
func TestAlarmFiresPromptlyAfterAForwardJump(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	j := &juggling{start: rt.Clock.Now()}
	ns := registerJuggler(t, rt.Runtime, j)
	juggle(t, ns, func(st *object.State) error { return st.SetAlarm(st.Now().Add(10 * time.Minute)) })
	rt.Clock.Jump(time.Hour)
	rt.Clock.Advance(time.Second)
	rt.WaitIdle()
	if diff := cmp.Diff([]string{"@10m0s"}, j.log()); diff != "" {
		t.Errorf("fired within a second of the jump (-want +got):\n%s", diff)
	}
}

// TestRestoredAlarmFires: restoring an object (issue 18's Restore) into a fresh
// runtime must arm its alarms. The wake index's ensure made the entry durable but, since
// it stopped queueing it in memory (item 11 of the runtime audit), a restored alarm
// waited for the next restart; the restore now settles the entry too.
func TestRestoredAlarmFires(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	j := &juggling{start: rt.Clock.Now()}
	ns := registerJuggler(t, rt.Runtime, j)
	juggle(t, ns, func(st *object.State) error { return st.SetAlarm(st.Now().Add(time.Minute)) })
	dir := t.TempDir()
	if _, err := rt.Backup(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	fresh := objecttest.New(t, object.Config{Clock: rt.Clock})
	registerJuggler(t, fresh.Runtime, j)
	if _, err := fresh.Restore(context.Background(), dir, object.RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	rt.Close()
	tick(fresh, 2, time.Minute)
	if diff := cmp.Diff([]string{"@1m0s"}, j.log()); diff != "" {
		t.Errorf("fired after the restore (-want +got):\n%s", diff)
	}
}

// TestWakeNeverRecreatesADeletedObject: a wake entry may outlive its object's file (the
// index drops entries lazily: a crash right after DeleteObject, or a file removed by
// hand while the runtime was down). Waking it must not create an empty object.
func TestWakeNeverRecreatesADeletedObject(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	j := &juggling{start: rt.Clock.Now()}
	ns := registerJuggler(t, rt.Runtime, j)
	stub := ns.GetByName("j")
	juggle(t, ns, func(st *object.State) error { return st.SetAlarm(st.Now().Add(time.Minute)) })
	path := rt.DatabasePath("juggler", stub.ID())
	rt.Close() // the wake entry stays in the index
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	rt2 := rt.Restart(t, object.Config{})
	registerJuggler(t, rt2.Runtime, j)
	tick(rt2, 2, time.Minute)
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the deleted object's database exists again: %v", err)
	}
	if got := j.log(); len(got) != 0 {
		t.Errorf("a deleted object fired %v", got)
	}
}

// TestEarliestDueAfterSingleAlarmWrites pins the shortcut of issue 13 item 11: a batch
// whose only alarm writes are SetAlarm and DeleteAlarm computes the object's earliest
// due time from what the last commit left instead of querying it. Moving the single
// alarm later or deleting it must leave the wake at the earliest schedule, whether
// that schedule was the earliest row (the alarm second) or the second (the alarm
// first); a shortcut that forgot the schedules would fire s20 at 30 minutes.
func TestEarliestDueAfterSingleAlarmWrites(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	j := &juggling{start: rt.Clock.Now()}
	ns := registerJuggler(t, rt.Runtime, j)
	in := func(d time.Duration) time.Time { return j.start.Add(d) }
	juggle(t, ns, func(st *object.State) error {
		if err := st.Schedule("s10", object.At(in(10*time.Minute)), nil); err != nil {
			return err
		}
		if err := st.Schedule("s20", object.At(in(20*time.Minute)), nil); err != nil {
			return err
		}
		return st.SetAlarm(in(5 * time.Minute)) // the earliest row: the schedules come next
	})
	juggle(t, ns, func(st *object.State) error { return st.SetAlarm(in(30 * time.Minute)) })
	juggle(t, ns, func(st *object.State) error { return st.SetAlarm(in(40 * time.Minute)) })
	tick(rt, 10, time.Minute)
	if diff := cmp.Diff([]string{"s10@10m0s"}, j.log()); diff != "" {
		t.Fatalf("fired by 10 minutes (-want +got):\n%s", diff)
	}
	// The wake turn's writes were read again: s20 is now the earliest row, the alarm
	// (40 minutes) is not among the two earliest... until it is set before s20.
	juggle(t, ns, func(st *object.State) error { return st.SetAlarm(in(15 * time.Minute)) })
	juggle(t, ns, func(st *object.State) error { return st.DeleteAlarm() })
	tick(rt, 10, time.Minute)
	if diff := cmp.Diff([]string{"s10@10m0s", "s20@20m0s"}, j.log()); diff != "" {
		t.Fatalf("fired by 20 minutes (-want +got):\n%s", diff)
	}
	juggle(t, ns, func(st *object.State) error { return st.SetAlarm(in(25 * time.Minute)) })
	tick(rt, 5, time.Minute)
	if diff := cmp.Diff([]string{"s10@10m0s", "s20@20m0s", "@25m0s"}, j.log()); diff != "" {
		t.Fatalf("fired by 25 minutes (-want +got):\n%s", diff)
	}
}

// TestDeleteAllDropsTheWake: Storage.DeleteAll deletes the alarms, and now tells the
// wake index so; before, the old alarm's wake still activated the evicted object, for
// nothing, when its time came.
func TestDeleteAllDropsTheWake(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	j := &juggling{start: rt.Clock.Now()}
	ns := registerJuggler(t, rt.Runtime, j)
	juggle(t, ns, func(st *object.State) error { return st.SetAlarm(st.Now().Add(time.Minute)) })
	juggle(t, ns, func(st *object.State) error { return st.Storage().DeleteAll() })
	if n := rt.EvictAll(); n != 1 {
		t.Fatalf("evicted %d objects, want 1", n)
	}
	acts := rt.Stats().Activations
	tick(rt, 2, time.Minute)
	if got := rt.Stats().Activations; got != acts || len(j.log()) != 0 {
		t.Fatalf("after DeleteAll the alarm's time activated the object (%d activations, fired %v)", got-acts, j.log())
	}
}
