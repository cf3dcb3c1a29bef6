package object

import (
	"testing"
	"time"
)

// durableWake is what the wake index's file will hold for key once the batches
// already submitted are written.
func durableWake(w *wakeIndex, key wakeKey) (time.Time, bool) {
	w.writer.wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.planned(key)
}

// TestBusyObjectKeepsItsEarlyWakeEntry pins issue 13 item 11's last commit stall: the
// flusher moved a busy object's durable wake entry later on every tick, so the
// object's next alarm earlier than that (half of them, for alarms at random times)
// made its commit wait for a wake-index fsync, about once a second per object. An
// entry moved again during the last period now stays early; one quiet period later
// it moves, and Close writes it whatever.
func TestBusyObjectKeepsItsEarlyWakeEntry(t *testing.T) {
	rt, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() }) // a second Close does nothing
	w := rt.wake
	key := wakeKey{"busy", ID{}.raw}
	start := time.Now()
	later := start.Add(90 * time.Minute)
	if err := w.ensure(key, later); err != nil { // a first alarm: the entry is written at now
		t.Fatal(err)
	}
	w.settle(key, later, true)
	w.flushQuiet() // the flusher's tick while the object is busy
	if got, ok := durableWake(w, key); !ok || got.After(later) || !got.Before(later) {
		t.Fatalf("a busy object's entry was moved to %v (ok %v) after one tick; want it kept at its first write, before %v", got, ok, later)
	}
	w.flushQuiet() // a whole period in which no commit moved it
	if got, ok := durableWake(w, key); !ok || !got.Equal(later) {
		t.Fatalf("a quiet object's entry is %v (ok %v) after two ticks, want %v", got, ok, later)
	}

	w.settle(key, later.Add(time.Minute), true) // moved again, then the runtime closes
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	reopened, err := openWakeIndex(rt)
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.close()
	if got, ok := reopened.disk[key]; !ok || !got.Equal(later.Add(time.Minute)) {
		t.Fatalf("after close the entry is %v (ok %v), want %v", got, ok, later.Add(time.Minute))
	}
}
