package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPartysocketTemplateClient runs the durable-chat-template flow with the real
// npm partysocket client in Node. It needs node and the root node_modules (npm ci);
// without them it fails in CI and is skipped elsewhere.
func TestPartysocketTemplateClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join("..", "..", "node_modules", "partysocket", "package.json"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node and node_modules/partysocket are required (run npm ci at the repository root): %v", err)
		}
		t.Skipf("needs node and npm ci at the repository root: %v", err)
	}
	ts := newTestServer(t, Limits{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	host := strings.TrimPrefix(ts.srv.URL, "http://")
	out, err := exec.CommandContext(ctx, node, "testdata/template-client.mjs", host, "template-room").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("node client: %v\n%s", err, out)
	}
}
