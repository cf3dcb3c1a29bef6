package main

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestAbuse sends a room hostile frames (SECURITY.md lists them): each is refused with a
// chat:error or a close code, nothing is stored, and another user is unaffected.
func TestAbuse(t *testing.T) {
	ts := newTestServer(t, Limits{Burst: 1000, Rate: 1000})
	alice := ts.dial("abuse", "a1", aliceQ)
	alice.next(TypeWelcome)
	bob := ts.dial("abuse", "b1", bobQ)
	bob.next(TypeWelcome)

	for _, tc := range []struct {
		name  string
		frame string
		code  string
	}{
		{"malformed JSON", `{"type":"add","id":"x"`, ErrInvalid},
		{"not an object", `[1,2,3]`, ErrInvalid},
		{"unknown type", `{"type":"chat:admin"}`, ErrInvalid},
		{"wrong field type", `{"type":"add","id":7,"content":"x"}`, ErrInvalid},
		{"control characters in user", `{"type":"add","id":"c1","content":"x","user":"a\u0000b"}`, ErrInvalid},
		{"id with spaces", `{"type":"add","id":"a b","content":"x","user":"a"}`, ErrInvalid},
		{"blank content", `{"type":"add","id":"c2","content":"   ","user":"a"}`, ErrInvalid},
		{"content too long", `{"type":"add","id":"c3","user":"a","content":"` + strings.Repeat("x", MaxContentBytes+1) + `"}`, ErrTooLarge},
		{"frame too large", `{"type":"add","id":"c4","content":"x","pad":"` + strings.Repeat("x", MaxFrameBytes) + `"}`, ErrTooLarge},
		{"delete of an unknown message", `{"type":"chat:delete","id":"bob-1"}`, ErrNotFound},
	} {
		if err := alice.conn.WriteMessage(websocket.TextMessage, []byte(tc.frame)); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if f := alice.next(TypeError); f.Code != tc.code {
			t.Errorf("%s: chat:error %q, want %q (%s)", tc.name, f.Code, tc.code, f.Raw)
		}
	}
	// Binary garbage is refused the same way.
	alice.conn.WriteMessage(websocket.BinaryMessage, []byte{0xff, 0x00, 0xfe, '{'})
	if f := alice.next(TypeError); f.Code != ErrInvalid {
		t.Errorf("binary garbage: chat:error %q, want invalid", f.Code)
	}

	// HTML and script in every user field: stored verbatim, sent JSON-escaped (no raw
	// "<" on the wire), rendered with textContent by the front end (see e2e_test.go).
	hostile := `<img src=x onerror=alert(1)><script>alert(2)</script>"'&`
	evil := ts.dial("abuse", "e1", "proto=1&token=evil-secret-token-0001&name="+url.QueryEscape(hostile[:40]))
	evil.next(TypeWelcome)
	evil.send(map[string]any{"type": "add", "id": "<b>x</b>", "content": hostile, "user": hostile[:50], "role": "user"})
	got := bob.next(TypeAdd)
	if got.Content != hostile || got.ID != "<b>x</b>" {
		t.Errorf("hostile message altered: %+v", got)
	}
	if strings.ContainsAny(got.Raw, "<>") {
		t.Errorf("frame carries raw angle brackets: %s", got.Raw)
	}
	evil.send(map[string]any{"type": "chat:search", "q": `"<script>" OR content:* NEAR(`})
	if f := evil.next(TypeSearch); strings.ContainsAny(f.Raw, "<>") {
		t.Errorf("search answer carries raw angle brackets: %s", f.Raw)
	}

	// A text frame that is not UTF-8 closes that socket with 1007; the others stay.
	evil.conn.WriteMessage(websocket.TextMessage, []byte("{\"type\":\"add\",\"id\":\"u\",\"content\":\"\xff\"}"))
	evil.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ce *websocket.CloseError
	for {
		if _, _, err := evil.conn.ReadMessage(); err != nil {
			if !errors.As(err, &ce) || ce.Code != websocket.CloseInvalidFramePayloadData {
				t.Errorf("invalid UTF-8: %v, want close 1007", err)
			}
			break
		}
	}

	// Bob is unaffected and the room holds exactly the one hostile message.
	bob.send(add("bob-1", "still here", "bob"))
	if f := bob.next(TypeAdd); f.ID != "bob-1" {
		t.Fatalf("bob's add: %+v", f)
	}
	late := ts.dial("abuse", "l1", "")
	if f := late.next(TypeAll); len(f.Messages) != 2 {
		t.Errorf("room holds %d messages, want 2: %s", len(f.Messages), f.Raw)
	}
}
