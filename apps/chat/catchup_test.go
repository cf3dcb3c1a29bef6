package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// hostileContent is the largest message once encoded: every "<" is sent as \u003c.
var hostileContent = "spam " + strings.Repeat("<", MaxContentBytes-5)

// maxFrame bounds one reply frame: MaxReplyBytes of messages plus the frame's own fields.
const maxFrame = MaxReplyBytes + 1<<10

// fillRoom stores n hostile messages in room and returns the room's rev.
func fillRoom(t *testing.T, ts *testServer, room string, n int) int64 {
	t.Helper()
	w := ts.dial(room, "writer", "proto=1&name=writer&token=writer-secret-token-01")
	w.next(TypeWelcome)
	for i := range n { // raw "<": encoding/json would escape it past the frame limit
		frame := fmt.Sprintf(`{"type":"add","id":"h%d","content":%q,"user":"writer"}`, i, hostileContent)
		if err := w.conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	var rev int64
	for range n {
		rev = w.next(TypeAdd).Rev
	}
	return rev
}

// TestCatchupIsPaged pins issue 14 finding 3 (chat): a resume from rev 1 was sent as
// one chat:resume frame of every change (24 MB for 1,000 hostile messages), and "all",
// history and search pages were bounded in count only, so non-reading clients made
// the server hold tens of MB each. Now every reply is a page of at most MaxReplyBytes,
// the client asks for the next with {type:"chat:resume", since}, and a socket's pages
// come out of a byte budget of CatchupBurst, refilled at CatchupRate. Fails on the
// code before: the first chat:resume frame was 4.9 MB.
func TestCatchupIsPaged(t *testing.T) {
	ts := newTestServer(t, unlimited)
	const n = 200 // 4.9 MB encoded
	rev := fillRoom(t, ts, "big", n)

	// A stock client's "all", a history page and a search answer are bounded in bytes.
	stock := ts.dial("big", "stock", "")
	if f := stock.next(TypeAll); len(f.Raw) > maxFrame || !f.HasMore || len(f.Messages) == 0 {
		t.Fatalf(`"all": %d bytes, %d messages, hasMore %v`, len(f.Raw), len(f.Messages), f.HasMore)
	}
	reader := ts.dial("big", "r", "proto=1&token=reader-secret-token-001")
	reader.next(TypeAll)
	reader.send(map[string]any{"type": TypeHistory, "limit": MaxPage})
	if f := reader.next(TypeHistory); len(f.Raw) > maxFrame || !f.HasMore || len(f.Messages) == 0 {
		t.Fatalf("history: %d bytes, %d messages, hasMore %v", len(f.Raw), len(f.Messages), f.HasMore)
	}
	reader.send(map[string]any{"type": TypeSearch, "q": "spam"})
	if f := reader.next(TypeSearch); len(f.Raw) > maxFrame || len(f.Messages) == 0 {
		t.Fatalf("search: %d bytes, %d messages", len(f.Raw), len(f.Messages))
	}

	// A resume from rev 1 comes page by page, each asked for, and brings every change
	// after rev 1 exactly once, in rev order.
	c := ts.dial("big", "c", "proto=1&token=resumer-secret-token-01&since=1")
	var got []int64
	sentBeforeRefusal, refused := 0, false
	f := c.next(TypeResume)
	for {
		if len(f.Raw) > maxFrame {
			t.Fatalf("chat:resume frame of %d bytes, at most %d", len(f.Raw), maxFrame)
		}
		if !refused {
			sentBeforeRefusal += len(f.Raw)
		}
		for _, m := range f.Messages {
			got = append(got, m.Rev)
		}
		if !f.More {
			break
		}
		c.send(map[string]any{"type": TypeResume, "since": f.Rev})
		for {
			r := c.nextOf(TypeResume, TypeError)
			if r.Type == TypeResume {
				f = r
				break
			}
			// The socket's catch-up budget is spent: it refills with time.
			if r.Code != ErrRateLimited || r.Retry <= 0 {
				t.Fatalf("resume refused: %s", r.Raw)
			}
			refused = true
			ts.rt.Clock.Advance(time.Duration(r.Retry) * time.Millisecond)
			c.send(map[string]any{"type": TypeResume, "since": f.Rev})
		}
	}
	if f.Rev != rev || len(got) != n-1 {
		t.Fatalf("resumed to rev %d with %d changes, want rev %d and %d", f.Rev, len(got), rev, n-1)
	}
	for i, r := range got {
		if r != int64(i+2) {
			t.Fatalf("change %d has rev %d, want %d", i, r, i+2)
		}
	}
	if !refused || sentBeforeRefusal > CatchupBurst+maxFrame {
		t.Fatalf("%d bytes sent before the budget refused a page (refused: %v), at most %d", sentBeforeRefusal, refused, CatchupBurst+maxFrame)
	}
}
