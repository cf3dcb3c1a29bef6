package main

import (
	"strings"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/nodetest"
)

// TestPartysocketTemplateClient runs the durable-chat-template flow with the real
// npm partysocket client in Node. It needs node and `npm ci` at the repository
// root (see nodetest).
func TestPartysocketTemplateClient(t *testing.T) {
	node := nodetest.Require(t, "partysocket", "ws")
	ts := newTestServer(t, Limits{})
	host := strings.TrimPrefix(ts.srv.URL, "http://")
	out, err := node.Run(t, 30*time.Second, "testdata/template-client.mjs", host, "template-room")
	if err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("node client: %v\n%s", err, out)
	}
}
