package main

import (
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// TestAdmissionExpiresUncommitted: a socket or a tick slot admitted by a turn that
// never committed (its socket closed without OnClose) stops counting after
// pendingTTL, so a failed commit cannot leave an address or the process short of
// its budget for good; confirmed ones stay until released.
func TestAdmissionExpiresUncommitted(t *testing.T) {
	a := newAdmission(Options{MaxPerAddr: 1, MaxSessions: 1})
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	rolledBack, kept := &object.WebSocket{}, &object.WebSocket{}
	if err := a.admit(rolledBack, "10.0.0.1", now); err != nil || !a.hold("s-1", now) {
		t.Fatalf("first admission: %v", err)
	}
	if a.admit(kept, "10.0.0.1", now.Add(pendingTTL/2)) == nil || a.hold("s-2", now.Add(pendingTTL/2)) {
		t.Fatal("a pending admission does not count")
	}
	later := now.Add(pendingTTL)
	if err := a.admit(kept, "10.0.0.1", later); err != nil || !a.hold("s-2", later) {
		t.Fatalf("an admission never committed still counts after %v: %v", pendingTTL, err)
	}
	a.confirm(kept)
	a.confirm("s-2")
	muchLater := later.Add(time.Hour)
	if a.admit(&object.WebSocket{}, "10.0.0.1", muchLater) == nil || a.hold("s-3", muchLater) {
		t.Fatal("a confirmed admission expired")
	}
	a.release(kept)
	a.drop("s-2")
	if err := a.admit(&object.WebSocket{}, "10.0.0.1", muchLater); err != nil || !a.hold("s-3", muchLater) {
		t.Fatalf("released admissions still count: %v", err)
	}
}
