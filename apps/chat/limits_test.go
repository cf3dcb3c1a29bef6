package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// TestEveryFrameTypeIsLimited pins issue 14 finding 10 (chat), the class: chat:typing
// took no token, so it was relayed without limit. Every frame type a client can send
// draws from the sender's bucket. Fails on the code before: typing was never refused
// (and chat:resume was not a client frame).
func TestEveryFrameTypeIsLimited(t *testing.T) {
	ts := newTestServer(t, Limits{Burst: 3, Rate: 1, AddrBurst: 1000, RoomBurst: 1000})
	for i, f := range []map[string]any{
		add("x", "hello", "u"),
		{"type": TypeUpdate, "id": "y", "content": "hello", "user": "u"},
		{"type": TypeDelete, "id": "nope"},
		{"type": TypeHistory},
		{"type": TypeSearch, "q": "hello"},
		{"type": TypeTyping, "typing": true},
		{"type": TypeResume, "since": 1},
	} {
		c := ts.dial("every", fmt.Sprint("c", i), fmt.Sprintf("proto=1&token=every-type-token-%04d", i))
		c.next(TypeWelcome)
		for j := range 4 {
			if f["id"] != nil && f["type"] != TypeDelete {
				f["id"] = fmt.Sprintf("m%d-%d", i, j)
			}
			c.send(f)
		}
		var e frame
		for range 4 { // other errors (not_found) may come first
			if e = c.next(TypeError); e.Code == ErrRateLimited {
				break
			}
		}
		if e.Code != ErrRateLimited {
			t.Errorf("%s: 4 frames with a burst of 3 gave %s", f["type"], e.Raw)
		}
	}
}

// TestTypingFlood pins issue 14 finding 10 (chat): 1,500 chat:typing frames from one
// sender were all relayed (its "user" field unchecked: 16 KB, control characters)
// and closed a bystander with 1013. Now typing is validated, draws from the sender's
// buckets, and an unchanged state is relayed at most every 2 s. Fails on the code
// before: the bystander received 1,500 typing frames, or was closed.
func TestTypingFlood(t *testing.T) {
	ts := newTestServer(t, Limits{})
	bob := ts.dial("typing", "bob", bobQ)
	bob.next(TypeWelcome)
	mallory := ts.dial("typing", "m", "proto=1&token=mallory-secret-token-1")
	mallory.next(TypeWelcome)

	for _, user := range []string{strings.Repeat("x", 15<<10), "a\x00b", "\x1b[2J"} {
		mallory.send(map[string]any{"type": TypeTyping, "typing": true, "user": user})
		if e := mallory.next(TypeError); e.Code != ErrTooLarge && e.Code != ErrInvalid {
			t.Fatalf("typing with user %.20q: %s", user, e.Raw)
		}
	}
	var flood strings.Builder
	for i := range 1500 {
		fmt.Fprintf(&flood, `{"type":"chat:typing","typing":%v,"user":"mallory"}`+"\n", i%2 == 0)
	}
	for _, line := range strings.Split(strings.TrimSpace(flood.String()), "\n") {
		if err := mallory.conn.WriteMessage(websocket.TextMessage, []byte(line)); err != nil {
			break // the server may close the flooder: it does not read its errors
		}
	}
	// Another user, from another address, speaks after the flood; bob counts the
	// typing frames he got before it.
	alice := ts.dialFrom("127.0.0.2", "typing", "alice", aliceQ)
	alice.next(TypeWelcome)
	alice.send(add("after", "after the flood", "alice"))
	typing := 0
	for {
		f := bob.nextOf(TypeTyping, TypeAdd)
		if f.Type == TypeAdd {
			break
		}
		typing++
		if strings.ContainsAny(f.Raw, "\x00\x1b") || len(f.Raw) > 512 {
			t.Fatalf("relayed typing frame: %q", f.Raw)
		}
	}
	if typing > 20 { // the sender's burst
		t.Fatalf("bob received %d typing frames from one sender, at most 20", typing)
	}
}

// sendBurst sends n adds as identity tok from address src and returns how many the
// room accepted.
func sendBurst(t *testing.T, ts *testServer, src, room, tok string, n int) int {
	t.Helper()
	c := ts.dialFrom(src, room, tok, "proto=1&token="+tok)
	c.next(TypeWelcome)
	for i := range n {
		c.send(add(fmt.Sprintf("%s-%d", tok, i), "spam", "spammer"))
	}
	ok := 0
	for range n {
		if f := c.nextOf(TypeAdd, TypeError); f.Type == TypeAdd {
			ok++
		} else if f.Code != ErrRateLimited {
			t.Fatalf("unexpected %s", f.Raw)
		}
	}
	c.conn.Close()
	return ok
}

// TestPerAddressLimit pins issue 14 finding 13 (chat, rate limit): the limit was per
// identity only, and identities are free, so 25 reconnects with new tokens stored 500
// messages at once. Now an address has a bucket of its own in each room (burst 40),
// and the room one for all senders (burst 200). Fails on the code before: 500 and
// 400 messages were stored.
func TestPerAddressLimit(t *testing.T) {
	ts := newTestServer(t, Limits{}) // the defaults; the clock stands still
	stored := 0
	for i := range 25 {
		stored += sendBurst(t, ts, "127.0.0.2", "addr", fmt.Sprintf("new-identity-token-%04d", i), 20)
	}
	if stored == 0 || stored > 40 { // joins and leaves draw from the same bucket
		t.Fatalf("25 identities of one address stored %d messages, want at most the address's burst of 40", stored)
	}
	// Another address is not affected.
	if n := sendBurst(t, ts, "127.0.0.3", "addr", "bystander-token-000001", 5); n != 5 {
		t.Fatalf("a bystander of another address stored %d of 5", n)
	}

	// Many addresses, each within its own limit, are held by the room's.
	stored = 0
	for a := range 10 {
		for i := range 2 {
			stored += sendBurst(t, ts, fmt.Sprintf("127.0.1.%d", a+1), "room", fmt.Sprintf("room-flood-token-%d-%d", a, i), 20)
		}
	}
	if stored < 100 || stored > 200 {
		t.Fatalf("10 addresses stored %d messages in one room, want at most the room's burst of 200", stored)
	}
}
