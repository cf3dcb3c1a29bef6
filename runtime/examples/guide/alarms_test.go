package guide_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Reminder uses the single alarm (Durable Objects' model) and a named repeating
// schedule. Both live in the object's own database, so they fire even if the object
// was evicted or the process restarted in between.
type Reminder struct {
	st    *object.State
	fired chan string
}

func (r *Reminder) Arm(ctx context.Context, _ struct{}) (struct{}, error) {
	if err := r.st.SetAlarm(r.st.Now().Add(time.Hour)); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, r.st.Schedule("digest", object.Every(24*time.Hour), []byte("daily digest"))
}

// Alarm runs as a turn when the alarm is due. Returning an error retries it with
// backoff (2 s × 2ⁿ, jittered, 6 times by default).
func (r *Reminder) Alarm(ctx context.Context, info object.AlarmInfo) error {
	r.fired <- fmt.Sprintf("alarm (retry %d)", info.RetryCount)
	return nil
}

// The RPC methods, listed at Register.
var arm = object.NewMethod("arm", (*Reminder).Arm)

// OnSchedule runs for each occurrence of a named schedule.
func (r *Reminder) OnSchedule(ctx context.Context, f object.Firing) error {
	r.fired <- fmt.Sprintf("schedule %s: %s", f.Name, f.Payload)
	return nil
}

func Example_alarms() {
	dir, _ := os.MkdirTemp("", "warren-guide")
	defer os.RemoveAll(dir)
	clock := objecttest.NewClock() // tests move time by hand; production uses the real clock
	rt, err := object.New(object.Config{DataDir: dir, Clock: clock})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	fired := make(chan string, 10)
	reminders, err := object.Register(rt, "reminder", func(ctx context.Context, st *object.State) (*Reminder, error) {
		return &Reminder{st: st, fired: fired}, nil
	}, object.Methods(arm))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := arm.Call(context.Background(), reminders.GetByName("me"), struct{}{}); err != nil {
		log.Fatal(err)
	}
	// The runtime arms its wake-up timers when a turn ends; WaitIdle waits for that
	// (a test helper: real time needs nothing of the kind).
	for _, d := range []time.Duration{time.Hour, 23 * time.Hour, 24 * time.Hour} {
		rt.WaitIdle()
		clock.Advance(d)
		fmt.Println(<-fired)
	}
	// Output:
	// alarm (retry 0)
	// schedule digest: daily digest
	// schedule digest: daily digest
}
