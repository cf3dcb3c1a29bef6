package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// TestPartysocketClient connects the partysocket npm client (run by node) to the
// server. Outside CI it skips when node or node_modules is missing; in CI
// (CI=true) it fails instead.
func TestPartysocketClient(t *testing.T) {
	node, err := exec.LookPath("node")
	mods := filepath.Join("..", "..", "node_modules")
	_, merr := os.Stat(filepath.Join(mods, "partysocket", "package.json"))
	if err != nil || merr != nil {
		msg := "node and node_modules/partysocket are needed (run `npm ci` at the repository root)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	h := start(t, server.Config{}, object.Config{})
	cmd := exec.Command(node, filepath.Join("testdata", "partysocket.cjs"), h.addr)
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("partysocket client: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
