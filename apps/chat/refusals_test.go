package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestTemplateClientIsToldOfEveryRefusal pins "drop nothing silently" (issue 16): a
// stock durable-chat-template client (no proto=1) used to get nothing for a frame
// the room refused, so a rate-limited message stayed on its screen as if sent (31 %
// of a 20 msg/s sender's messages in the load test). Now a refused add or
// update comes back to it as an update of that message saying why, a frame type it
// reads; the others in the room see nothing of it; any other refused frame closes the
// socket with a clear code.
func TestTemplateClientIsToldOfEveryRefusal(t *testing.T) {
	ts := newTestServer(t, Limits{Burst: 3, Rate: 1})
	a := ts.dial("r", "a", "")
	b := ts.dial("r", "b", "")
	a.next("all")
	b.next("all")
	for i := range 5 {
		a.send(add(fmt.Sprintf("m%d", i), "hello", "alice"))
	}
	for i := range 5 {
		f := a.nextOf("add", "update")
		switch {
		case i < 3 && (f.Type != "add" || f.ID != fmt.Sprint("m", i)):
			t.Fatalf("message %d: %s", i, f.Raw)
		case i >= 3:
			var r refusedFrame
			json.Unmarshal([]byte(f.Raw), &r)
			if f.Type != "update" || r.ID != fmt.Sprint("m", i) || !strings.HasPrefix(r.Content, notSent) || r.Error == nil || r.Error.Code != ErrRateLimited || r.User != "alice" || r.Role != "user" {
				t.Fatalf("refusal of message %d: %s", i, f.Raw)
			}
		}
	}
	for i := range 3 {
		if f := b.nextOf("add", "update"); f.Type != "add" || f.ID != fmt.Sprint("m", i) {
			t.Fatalf("the other client got %s", f.Raw)
		}
	}
	ts.rt.Clock.Advance(10 * time.Second)
	a.send(add("big", strings.Repeat("x", MaxContentBytes+1), "alice"))
	if f := a.next("update"); f.ID != "big" || !strings.Contains(f.Raw, `"code":"too_large"`) {
		t.Fatalf("too large: %s", f.Raw)
	}
	b.send(map[string]any{"type": TypeHistory, "limit": MaxPage + 1})
	if code, reason := closedWith(t, b); code != CloseInvalid || !strings.HasPrefix(reason, "invalid: limit") {
		t.Fatalf("a bad frame without a message closed with %d %q, want %d", code, reason, CloseInvalid)
	}
	for range 4 {
		a.send(map[string]any{"type": TypeTyping, "typing": true})
	}
	if code, _ := closedWith(t, a); code != CloseRateLimited {
		t.Fatalf("a rate-limited frame without a message closed with %d, want %d", code, CloseRateLimited)
	}
}

// closedWith reads until the server closes c and returns its close code and reason.
func closedWith(t *testing.T, c *client) (int, string) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := c.conn.ReadMessage()
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code, ce.Text
		}
		if err != nil {
			t.Fatalf("no close frame: %v", err)
		}
	}
}
