package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/objecttest"
)

// sendAwareness sends an awareness update with the given entries.
func (c *yclient) sendAwareness(es ...awarenessEntry) {
	c.t.Helper()
	c.write(awarenessFrame(encodeAwareness(es)))
}

// roundTrip sends a sync step 1 and waits for the server's step 2 (or the
// socket's close): every frame the server sent this socket before it has then
// arrived, and every frame this socket sent before it has been handled.
func (c *yclient) roundTrip() {
	c.t.Helper()
	steps := func() int {
		n := 0
		for _, b := range c.frames {
			if f, err := decodeFrame(b); err == nil && f.Type == msgSync && f.SyncType == syncStep2 {
				n++
			}
		}
		return n
	}
	c.mu.Lock()
	before := steps()
	c.mu.Unlock()
	if c.closed() {
		return
	}
	c.write(syncFrame(syncStep1, []byte{0}))
	c.waitFor("sync step 2", func() bool { return steps() > before || c.closeCode != 0 })
}

// awarenessEntries returns every awareness entry c received, in order, and the
// bytes of the awareness frames.
func awarenessEntries(c *yclient) (es []awarenessEntry, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.frames {
		f, err := decodeFrame(b)
		if err != nil || f.Type != msgAwareness {
			continue
		}
		got, _ := decodeAwareness(f.Payload)
		es = append(es, got...)
		bytes += len(b)
	}
	return es, bytes
}

func state(name string) json.RawMessage { return json.RawMessage(`{"user":{"name":"` + name + `"}}`) }

// TestAwarenessOnlyOwnClient pins issue 14 finding 10: an awareness update was
// relayed whole (64 entries, one message relayed as 853 KB) and could rewrite or
// remove another connected user's state. Now a socket owns the first client ID
// it sends that no other socket owns; other entries are dropped.
func TestAwarenessOnlyOwnClient(t *testing.T) {
	ts := newTestServer(t, Policy{})
	alice := ts.dialSynced("/parties/document/doc?_pk=alice")
	bob := ts.dialSynced("/parties/document/doc?_pk=bob")
	mallory := ts.dialSynced("/parties/document/doc?_pk=mallory")
	alice.sendAwareness(awarenessEntry{Client: 42, Clock: 1, State: state("alice")})
	bob.waitFor("alice's state", awarenessSeen(bob, 42, 1, string(state("alice"))))

	// 64 entries: alice's ID rewritten, then 63 more of 1 KB each
	big := strings.Repeat("x", 1000)
	es := []awarenessEntry{{Client: 42, Clock: 9, State: state("mallory as alice")}}
	for i := range 63 {
		es = append(es, awarenessEntry{Client: uint64(100 + i), Clock: 1, State: state(big)})
	}
	mallory.sendAwareness(es...)
	mallory.sendAwareness(awarenessEntry{Client: 42, Clock: 10, State: json.RawMessage("null")}) // remove alice
	mallory.roundTrip()
	bob.roundTrip()

	got, n := awarenessEntries(bob)
	for _, e := range got {
		if e.Client == 42 && string(e.State) != string(state("alice")) {
			t.Errorf("mallory changed alice's state: %s (clock %d)", e.State, e.Clock)
		}
		if e.Client > 100 {
			t.Errorf("relayed an entry of a client mallory does not own: %d", e.Client)
		}
	}
	if n > 2<<10 {
		t.Errorf("bob got %d bytes of awareness for one state of 1 KB", n)
	}
	if len(got) != 2 || got[1].Client != 100 {
		t.Errorf("bob got %+v, want alice's state and mallory's own (client 100)", got)
	}
	// alice's ID stays hers: a late joiner sees her state, and mallory's own
	carol := ts.dial("/parties/document/doc?_pk=carol")
	carol.waitFor("alice's state", awarenessSeen(carol, 42, 1, string(state("alice"))))
	carol.waitFor("mallory's own state", awarenessSeen(carol, 100, 1, string(state(big))))
}

// TestAwarenessViewerIgnored pins issue 14 finding 10: a read-only viewer could
// remove or rewrite an editor's awareness state. Viewers have no presence now.
func TestAwarenessViewerIgnored(t *testing.T) {
	ts := newTestServer(t, Policy{})
	d := ts.createDoc("Notes")
	alice := ts.dialSynced(objecttest.PartyPath("document", d.Name))
	viewer := ts.dialSynced(objecttest.PartyPath("view", d.ViewToken))
	alice.sendAwareness(awarenessEntry{Client: 42, Clock: 1, State: state("alice")})
	viewer.waitFor("alice's state", awarenessSeen(viewer, 42, 1, string(state("alice"))))
	viewer.sendAwareness(awarenessEntry{Client: 42, Clock: 2, State: json.RawMessage("null")})
	viewer.sendAwareness(awarenessEntry{Client: 7, Clock: 1, State: state("viewer")})
	viewer.roundTrip()
	alice.roundTrip()
	if got, _ := awarenessEntries(alice); len(got) != 0 {
		t.Fatalf("alice got awareness from the viewer: %+v", got)
	}
	carol := ts.dial(objecttest.PartyPath("document", d.Name))
	carol.roundTrip()
	if got, _ := awarenessEntries(carol); len(got) != 1 || got[0].Client != 42 || got[0].Clock != 1 {
		t.Fatalf("late joiner got %+v, want alice's state only", got)
	}
}

// TestAwarenessLimits pins issue 14 finding 10: awareness was relayed at any rate
// and in states up to the 16 KiB attachment. Now a sender's relays are rate
// limited (the latest state is still kept for late joiners) and a state over
// maxAwarenessState closes the socket with 4413.
func TestAwarenessLimits(t *testing.T) {
	ts := newTestServer(t, Policy{})
	bob := ts.dialSynced("/parties/document/doc?_pk=bob")
	mallory := ts.dialSynced("/parties/document/doc?_pk=mallory")
	const n = 200
	for i := range n {
		mallory.sendAwareness(awarenessEntry{Client: 5, Clock: uint64(i + 1), State: state(fmt.Sprint("m", i))})
	}
	mallory.roundTrip()
	bob.roundTrip()
	if got, _ := awarenessEntries(bob); len(got) != awarenessBurst {
		t.Fatalf("bob got %d of %d awareness messages sent at once, want the burst of %d", len(got), n, awarenessBurst)
	}
	carol := ts.dial("/parties/document/doc?_pk=carol")
	carol.waitFor("mallory's latest state", awarenessSeen(carol, 5, n, string(state(fmt.Sprint("m", n-1)))))
	ts.rt.Clock.Advance(time.Second) // refills awarenessRate tokens
	mallory.sendAwareness(awarenessEntry{Client: 5, Clock: n + 1, State: state("later")})
	bob.waitFor("a relay after the refill", awarenessSeen(bob, 5, n+1, string(state("later"))))

	mallory.sendAwareness(awarenessEntry{Client: 5, Clock: n + 2, State: state(strings.Repeat("y", maxAwarenessState))})
	mallory.waitFor("close", func() bool { return mallory.closeCode != 0 })
	if mallory.closeCode != 4413 {
		t.Fatalf("oversized state: close %d, want 4413", mallory.closeCode)
	}
}
