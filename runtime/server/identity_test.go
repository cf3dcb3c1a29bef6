package server_test

import (
	"strings"
	"testing"

	"github.com/warrenhq/warren/runtime/server"
)

func TestValidToken(t *testing.T) {
	for tok, want := range map[string]bool{
		"abcdefghijklmnop":       true,
		"A-Z_a-z_0-9_0123":       true,
		strings.Repeat("x", 128): true,
		"short":                  false,
		strings.Repeat("x", 129): false,
		"sixteen chars sp":       false,
		"émoji-token-0000":       false,
		"abcdefghijklmno\x00":    false,
	} {
		if got := server.ValidToken(tok); got != want {
			t.Errorf("ValidToken(%q) = %v", tok, got)
		}
	}
}

// TestPublicID: ids are stable (the chat's stored ids depend on it), 24 hex digits,
// and differ between domains and secrets.
func TestPublicID(t *testing.T) {
	a := server.PublicID("warren-chat-uid", "token:alice-secret-token-0001")
	if a != server.PublicID("warren-chat-uid", "token:alice-secret-token-0001") || len(a) != 24 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("PublicID = %q", a)
	}
	if a == server.PublicID("warren-globe-uid", "token:alice-secret-token-0001") || a == server.PublicID("warren-chat-uid", "token:bob") {
		t.Fatal("ids collide across domains or secrets")
	}
	if a != "1f315ebee01bcd82f991df84" { // what chat rooms have stored as uid since their first version
		t.Fatalf("PublicID changed: %s", a)
	}
}
