package main

import (
	"strings"
	"testing"
	"time"
)

// docRowsWritten is what the runtime counted as written by the document's batches.
func (ts *testServer) docRowsWritten(name string) int64 {
	for _, m := range ts.rt.TopObjects(0) {
		if m.Namespace == "document" && m.Name == name {
			return m.RowsWritten
		}
	}
	return 0
}

// TestTypingDoesNotWriteTheAlarm (issue 16): an update appended its log row and moved
// the compaction alarm (an upsert of the alarm row and its index entry), two rows in
// every commit. The alarm now moves only when it fires before the log is due, so a
// burst of updates writes one row each; compaction still waits for CompactQuiet
// after the last update.
func TestTypingDoesNotWriteTheAlarm(t *testing.T) {
	ts := newTestServer(t, Policy{})
	a := ts.dialSynced("/parties/document/doc")
	a.edit(insert(0, "a"))
	waitUntil(t, "first update", func() bool { return ts.stats("doc").LastSeq == 1 })
	before := ts.docRowsWritten("doc")
	const n = 10
	for i := range n {
		ts.rt.Clock.Advance(100 * time.Millisecond)
		a.edit(insert(1+i, "b"))
		waitUntil(t, "update stored", func() bool { return ts.stats("doc").LastSeq == int64(2+i) })
	}
	if w := ts.docRowsWritten("doc") - before; w != n {
		t.Fatalf("%d updates wrote %d rows, want %d (one log row each)", n, w, n)
	}
	// 1 s after the last update; the alarm set for 2 s after the first fires, finds
	// the log not yet due and is set again.
	ts.rt.Clock.Advance(time.Second)
	time.Sleep(200 * time.Millisecond)
	if s := ts.stats("doc"); s.LogRows != n+1 || s.Compactions != 0 {
		t.Fatalf("compacted before CompactQuiet had passed since the last update: %+v", s)
	}
	ts.rt.Clock.Advance(1500 * time.Millisecond)
	waitUntil(t, "compaction", func() bool { return ts.stats("doc").LogRows == 0 })
	b := ts.dial("/parties/document/doc")
	b.waitText("a" + strings.Repeat("b", n))
}
