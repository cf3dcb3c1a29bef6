package main

import (
	"strings"
	"testing"
	"time"

	y "github.com/skyterra/y-crdt"
)

// insertsAtStart is a Yjs update of client typing n characters backwards (each
// at position 0): n items that never merge.
func insertsAtStart(client uint64, n int) []byte {
	d := newYDoc()
	d.doc.ClientID = y.Number(client)
	t := d.doc.GetText(TextName)
	for range n {
		t.Insert(0, "x", nil)
	}
	u, _ := d.Diff(nil)
	return u
}

// syncFrames counts the sync step 2 and update frames c received.
func syncFrames(c *yclient) (steps, updates int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.frames {
		if f, err := decodeFrame(b); err == nil && f.Type == msgSync {
			switch f.SyncType {
			case syncStep2:
				steps++
			case syncUpdate:
				updates++
			}
		}
	}
	return steps, updates
}

// TestPendingUpdateKeepsDocumentJoinable pins issue 14 finding 1: one update
// deleting an item that never exists, then 1,100 one-character edits, and the
// server held the first forever: compaction stopped, and every joiner was sent
// every log row in one turn, overflowing its 1,024-frame send queue (1013), also
// after a restart. Now the delete is part of the merged state like any update:
// compaction proceeds, and a joiner's catch-up is one frame.
func TestPendingUpdateKeepsDocumentJoinable(t *testing.T) {
	ts := newTestServer(t, Policy{})
	a := ts.dialSynced("/parties/document/doc")
	a.write(syncFrame(syncUpdate, []byte{0, 1, 99, 1, 0, 1})) // delete client 99's clock 0: 6 bytes
	want := ""
	for i := range 1100 {
		a.edit(insert(i, "x"))
		want += "x"
	}
	waitUntil(t, "stored", func() bool { return ts.stats("doc").LastSeq == 1101 })
	join := func(when string) {
		t.Helper()
		c := ts.dial("/parties/document/doc")
		c.waitText(want)
		c.roundTrip()
		if steps, updates := syncFrames(c); c.closeCode != 0 || steps != 2 || updates != 0 {
			t.Fatalf("%s: joiner closed %d, got %d step 2 and %d update frames, want its catch-up in one step 2", when, c.closeCode, steps, updates)
		}
		c.conn.Close()
	}
	join("before compaction")
	ts.rt.Clock.Advance(11 * time.Second)
	waitUntil(t, "compaction", func() bool { return ts.stats("doc").LogRows == 0 })
	join("after compaction")
	ts.restart()
	join("after a restart")
}

// TestQuadraticUpdatesDoNotHang pins issue 14 finding 2: two small valid updates,
// each of one client typing backwards at the start, made y-crdt's integration
// quadratic inside the document's turn (2 x 30 KB: 14.7 s during which the
// document answered nobody). The server no longer integrates updates to store
// and relay them; reading the text integrates once, outside the turn, linearly
// for this pattern and within Policy.TextSteps for any.
func TestQuadraticUpdatesDoNotHang(t *testing.T) {
	ts := newTestServer(t, Policy{})
	const n = 5000
	a := ts.dialRaw("/parties/document/doc")
	bystander := ts.dialRaw("/parties/document/doc")
	ua, ub := insertsAtStart(1, n), insertsAtStart(2, n) // in this order, y-crdt scans all of ua for each item of ub
	a.write(syncFrame(syncUpdate, ua))
	a.write(syncFrame(syncUpdate, ub))
	start := time.Now()
	for ts.statsWithin("doc", time.Second).LastSeq != 2 { // the document answers at once
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the document did not answer for %v", time.Since(start))
		}
	}
	bystander.roundTrip()
	if _, updates := syncFrames(bystander); updates != 2 {
		t.Fatalf("bystander got %d updates, want both", updates)
	}
	t.Logf("%d + %d bytes stored and relayed in %v", len(ua), len(ub), time.Since(start))
	code, body := ts.get("/parties/document/doc/text")
	if code != 200 || len(body) != 2*n || strings.Trim(string(body), "x") != "" {
		t.Fatalf("text: %d, %d bytes", code, len(body))
	}
	// a document beyond the budget: the text is refused, the document answers
	small := newTestServer(t, Policy{TextSteps: 1000})
	c := small.dialRaw("/parties/document/doc")
	c.write(syncFrame(syncUpdate, ua))
	c.roundTrip()
	if code, body := small.get("/parties/document/doc/text"); code != 422 {
		t.Fatalf("text over the budget: %d, %d bytes", code, len(body))
	}
	c.roundTrip()
}

// TestDocumentSizeLimits pins issue 14 finding 3 (the Yjs part): a document
// grew without bound (400k items took the server from 29 MB to 396 MB). Now an
// update that would take it past MaxDocumentBytes or MaxDocumentStructs is
// refused, its socket closed with 4413, and nothing of it stored or relayed;
// the document keeps working for others.
func TestDocumentSizeLimits(t *testing.T) {
	ts := newTestServer(t, Policy{MaxDocumentBytes: 64 << 10, MaxDocumentStructs: 5000, CatchUpBurst: 64 << 20}) // every client here has one address
	bob := ts.dialSynced("/parties/document/doc")
	bob.edit(insert(0, "bob"))
	mallory := ts.dialRaw("/parties/document/doc")
	mallory.write(syncFrame(syncUpdate, insertsAtStart(7, 6000))) // 6,000 structs
	mallory.waitFor("close", func() bool { return mallory.closeCode != 0 })
	if mallory.closeCode != 4413 {
		t.Fatalf("over the struct limit: close %d, want 4413", mallory.closeCode)
	}
	mallory = ts.dialRaw("/parties/document/doc")
	big := strings.Repeat("y", 20<<10)
	for i := 0; !mallory.closed() && i < 10; i++ {
		d := newYDoc()
		d.doc.GetText(TextName).Insert(0, big, nil) // 20 KB from a new client each
		u, _ := d.Diff(nil)
		mallory.write(syncFrame(syncUpdate, u))
		mallory.roundTrip()
	}
	if mallory.closeCode != 4413 {
		t.Fatalf("over the byte limit: close %d, want 4413", mallory.closeCode)
	}
	if s := ts.stats("doc"); s.StateBytes > 64<<10 || s.Structs > 5000 {
		t.Fatalf("the document grew past its limits: %+v", s)
	}
	bob.edit(insert(0, "!"))
	bob.roundTrip()
	carol := ts.dial("/parties/document/doc")
	carol.roundTrip()
	if s := carol.text(); bob.closed() || s != bob.text() || !strings.HasPrefix(s, "!") || !strings.Contains(s, "bob") {
		t.Fatalf("bob closed %d; a joiner got %d bytes, not bob's %d with his edits: %q…", bob.closeCode, len(s), len(bob.text()), s[:min(len(s), 20)])
	}
}

// TestUpdateRateLimit pins issue 14 finding 2 (CPU per sender): one socket
// could send updates at any rate. Now one socket's update bytes are bounded (UpdateRate,
// UpdateBurst): past them it is closed with 4429, and its client, reconnecting,
// sends what the server missed, so nothing is lost.
func TestUpdateRateLimit(t *testing.T) {
	ts := newTestServer(t, Policy{UpdateRate: 1000, UpdateBurst: 8000})
	a := ts.dialSynced("/parties/document/doc")
	for i := 0; !a.closed() && i < 100; i++ {
		a.edit(insert(i, "z"))
		a.roundTrip()
	}
	if a.closeCode != 4429 {
		t.Fatalf("flood: close %d, want 4429", a.closeCode)
	}
	ts.rt.Clock.Advance(10 * time.Second)
	want := a.text()
	ts.redial("/parties/document/doc", a) // the same client's doc, reconnecting
	b := ts.dial("/parties/document/doc")
	b.waitText(want)
}

// TestSyncRequestLimit: sync step 1, answered with the whole missing state, is
// limited per socket (a burst of syncBurst, then one per syncInterval).
func TestSyncRequestLimit(t *testing.T) {
	ts := newTestServer(t, Policy{})
	c := ts.dialRaw("/parties/document/doc")
	for range syncBurst + 2 {
		c.write(syncFrame(syncStep1, []byte{0}))
	}
	c.waitFor("close", func() bool { return c.closeCode != 0 })
	if steps, _ := syncFrames(c); c.closeCode != 4429 || steps != syncBurst {
		t.Fatalf("close %d after %d answers, want 4429 after %d", c.closeCode, steps, syncBurst)
	}
}

// TestCatchUpBudgetPerAddress pins issue 14 finding 3 (catch-ups): 100 joiners
// that never read, of a 3 MB document, took the server from 52 MB to 355 MB,
// each holding its own copy of the catch-up until its pings time out. Now one
// address gets catch-ups of a document within CatchUpBurst, then CatchUpRate:
// beyond them the socket is closed with 4429 (its client retries later).
func TestCatchUpBudgetPerAddress(t *testing.T) {
	ts := newTestServer(t, Policy{CatchUpBurst: 100 << 10, CatchUpRate: 10 << 10})
	a := ts.dialSynced("/parties/document/doc")
	a.edit(insert(0, strings.Repeat("z", 40<<10))) // a 40 KB document
	waitUntil(t, "stored", func() bool { return ts.stats("doc").LastSeq == 1 })
	join := func() *yclient {
		c := ts.dialRaw("/parties/document/doc") // asks for everything
		c.waitFor("catch-up or close", func() bool { return c.synced || c.closeCode != 0 })
		return c
	}
	for i := range 2 {
		if c := join(); !c.synced {
			t.Fatalf("joiner %d closed %d within the budget", i, c.closeCode)
		}
	}
	if c := join(); c.synced || c.closeCode != 4429 {
		t.Fatalf("third joiner: synced %v, close %d, want 4429", c.synced, c.closeCode)
	}
	ts.rt.Clock.Advance(3 * time.Second) // 30 KB more
	if c := join(); !c.synced {
		t.Fatalf("a joiner after the refill closed %d", c.closeCode)
	}
}
