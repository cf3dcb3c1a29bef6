package main

import (
	"fmt"
	"slices"
	"testing"
)

// TestNamesAreBound pins issue 14 finding 13 (chat, identity): display names were
// not bound to the user id, so mallory could post as "alice". Now a room reserves a
// name for the first identity with a token that uses it; anyone else asking for it
// (in another case or spacing too, with or without a token) is shown as "alice (2)",
// "alice (3)", … on messages, in presence and in notices. Fails on the code before:
// mallory's message showed "alice".
func TestNamesAreBound(t *testing.T) {
	ts := newTestServer(t, Limits{})
	alice := ts.dial("names", "a", aliceQ)
	if w := alice.next(TypeWelcome); w.Name != "alice" {
		t.Fatalf("alice welcomed as %q", w.Name)
	}
	alice.send(add("a1", "hi, alice here", "alice"))
	bob := ts.dial("names", "b", bobQ)
	if f := bob.next(TypeAll); f.Messages[0].User != "alice" {
		t.Fatalf("alice's message shows %q", f.Messages[0].User)
	}

	const malloryQ = "proto=1&name=alice&token=mallory-secret-token-1"
	mallory := ts.dial("names", "m", malloryQ)
	if w := mallory.next(TypeWelcome); w.Name != "alice (2)" {
		t.Fatalf("mallory asking for alice is welcomed as %q", w.Name)
	}
	if f := bob.next(TypeJoin); f.Name != "alice (2)" {
		t.Fatalf("join notice: %s", f.Raw)
	}
	if f := bob.next(TypePresence); !slices.Equal(names(f.Users), []string{"alice", "bob", "alice (2)"}) {
		t.Fatalf("presence: %s", f.Raw)
	}
	for i, user := range []string{"alice", " ALICE ", "Alice"} {
		mallory.send(add(fmt.Sprint("m", i), "I am alice", user))
		if f := bob.next(TypeAdd); f.User == "alice" || f.User == "ALICE" || f.User == "Alice" {
			t.Fatalf("mallory posted as %q", f.User)
		}
	}
	// A stock client (no token) cannot take a reserved name either, but reserves none.
	stock := ts.dial("names", "s", "")
	stock.next(TypeAll)
	stock.send(add("s1", "me too", "alice"))
	if f := bob.next(TypeAdd); f.User != "alice (3)" {
		t.Fatalf("stock client's message shows %q", f.User)
	}
	stock.send(add("s2", "a fresh name", "Zed"))
	if f := bob.next(TypeAdd); f.User != "Zed" {
		t.Fatalf("stock client's fresh name shows %q", f.User)
	}

	// Alice on another device, and everyone after a restart, keep their names.
	alice2 := ts.dial("names", "a2", aliceQ)
	alice2.send(add("a2", "my phone", "alice"))
	if f := bob.next(TypeAdd); f.User != "alice" {
		t.Fatalf("alice's second device shows %q", f.User)
	}
	ts.restart(Limits{})
	mallory = ts.dial("names", "m", malloryQ)
	if w := mallory.next(TypeWelcome); w.Name != "alice (2)" {
		t.Fatalf("after a restart mallory is welcomed as %q", w.Name)
	}
	late := ts.dial("names", "l", "")
	f := late.next(TypeAll)
	var shown []string
	for _, m := range f.Messages {
		shown = append(shown, m.User)
	}
	if !slices.Equal(shown, []string{"alice", "alice (2)", "ALICE (2)", "Alice (2)", "alice (3)", "Zed", "alice"}) {
		t.Fatalf("history shows %q", shown)
	}
}

func names(us []presenceUser) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Name)
	}
	return out
}
