package server_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/nodetest"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// TestPartysocketClient connects the partysocket npm client (run by node) to the
// server. It needs node and `npm ci` at the repository root (see nodetest).
func TestPartysocketClient(t *testing.T) {
	node := nodetest.Require(t, "partysocket", "ws")
	h := start(t, server.Config{}, object.Config{})
	out, err := node.Run(t, 30*time.Second, filepath.Join("testdata", "partysocket.cjs"), h.addr)
	if err != nil {
		t.Fatalf("partysocket client: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
