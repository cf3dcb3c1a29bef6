package main

import (
	"strings"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/nodetest"
)

// TestPartysocketTemplateClient runs the multiplayer-globe-template flow with the
// real npm partysocket client in Node (testdata/template-client.mjs). It needs
// node and `npm ci` at the repository root (see nodetest).
func TestPartysocketTemplateClient(t *testing.T) {
	node := nodetest.Require(t, "partysocket", "ws")
	addr, _ := start(t, t.TempDir(), Options{})
	out, err := node.Run(t, 30*time.Second, "testdata/template-client.mjs", addr)
	if err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("node client: %v\n%s", err, out)
	}
}
