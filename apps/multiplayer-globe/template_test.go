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

// TestPartysocketTemplateClient runs the multiplayer-globe-template flow with the
// real npm partysocket client in Node (testdata/template-client.mjs). It needs
// node and the root node_modules (npm ci); without them it fails in CI and is
// skipped elsewhere.
func TestPartysocketTemplateClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join("..", "..", "node_modules", "partysocket", "package.json"))
	}
	if err == nil {
		_, err = os.Stat(filepath.Join("..", "..", "node_modules", "ws", "package.json"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node and node_modules/partysocket are required (run npm ci at the repository root): %v", err)
		}
		t.Skipf("needs node and npm ci at the repository root: %v", err)
	}
	addr, _ := start(t, t.TempDir(), Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, "testdata/template-client.mjs", addr).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("node client: %v\n%s", err, out)
	}
}
