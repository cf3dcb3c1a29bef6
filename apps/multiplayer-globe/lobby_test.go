package main

import (
	"context"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// TestLobbyIgnoresStaleReports: session reports travel outside turns and may arrive
// out of order; an older count must not overwrite a newer one.
func TestLobbyIgnoresStaleReports(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	ns, err := object.Register(rt.Runtime, "lobby", func(ctx context.Context, st *object.State) (*Lobby, error) {
		return newLobby(ctx, st, 2, newAdmission(Options{}.withDefaults()))
	}, lobbyMethods)
	if err != nil {
		t.Fatal(err)
	}
	assign, report := assignSession, reportSession
	ctx, lobby := context.Background(), ns.GetByName("main")
	s1, err := assign.Call(ctx, lobby, JoinRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if s2, _ := assign.Call(ctx, lobby, JoinRequest{}); s2.Session != s1.Session {
		t.Fatalf("second player sent to %s, want %s", s2.Session, s1.Session)
	}
	// Both players connected; the session's reports arrive newest first.
	report.Call(ctx, lobby, SessionReport{Session: s1.Session, Players: 2, Joined: true, At: 2})
	report.Call(ctx, lobby, SessionReport{Session: s1.Session, Players: 1, Joined: true, At: 1})
	if s3, _ := assign.Call(ctx, lobby, JoinRequest{}); s3.Session == s1.Session {
		t.Fatalf("third player sent to the full session %s", s1.Session)
	}
}
