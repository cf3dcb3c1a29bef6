package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warrenhq/warren/runtime/browsertest"
)

// runNode runs testdata/yclient.mjs against the server. It fails (never skips)
// when node or the npm packages are missing: run `make deps` (npm ci) first.
func runNode(t *testing.T, srvURL string, args ...string) map[string]string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for this test: %v", err)
	}
	root, _ := filepath.Abs("../..")
	if _, err := os.Stat(filepath.Join(root, "node_modules", "y-websocket")); err != nil {
		t.Fatalf("npm packages missing (run `make deps` at the repository root): %v", err)
	}
	ws := "ws" + strings.TrimPrefix(srvURL, "http") + "/parties/document"
	cmd := exec.Command(node, append([]string{"testdata/yclient.mjs", args[0], ws}, args[1:]...)...)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("node %v: %v\n%s%s", args, err, out, stderr)
	}
	var res map[string]string
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node output %q: %v", out, err)
	}
	return res
}

// TestNodeYWebsocketClient: real npm yjs + y-websocket clients converge through
// the server, a late joiner gets the document, and it survives a graceful
// restart and a SIGKILL.
func TestNodeYWebsocketClient(t *testing.T) {
	bin := browsertest.BuildBinary(t, ".")
	srv := browsertest.ServeBinary(t, bin)
	res := runNode(t, srv.URL, "converge", "room1")
	if res["a"] != res["b"] || strings.Count(res["a"], "a") != 20 || strings.Count(res["a"], "b") != 20 {
		t.Fatalf("clients did not converge: %q", res)
	}
	text := res["a"]
	if got := runNode(t, srv.URL, "read", "room1")["text"]; got != text {
		t.Fatalf("late joiner got %q, want %q", got, text)
	}
	srv.Restart()
	if got := runNode(t, srv.URL, "read", "room1")["text"]; got != text {
		t.Fatalf("after restart got %q, want %q", got, text)
	}
	runNode(t, srv.URL, "write", "room1", "+acked")
	srv.Kill()
	srv.Start()
	if got := runNode(t, srv.URL, "read", "room1")["text"]; got != text+"+acked" {
		t.Fatalf("after SIGKILL got %q, want %q", got, text+"+acked")
	}
}

// TestNodeYPartyServerProvider: y-partyserver's provider (npm
// y-partyserver/provider, with party "document") connects unchanged: it writes,
// and a second provider joining later gets the text.
func TestNodeYPartyServerProvider(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for this test: %v", err)
	}
	root, _ := filepath.Abs("../..")
	if _, err := os.Stat(filepath.Join(root, "node_modules", "y-partyserver")); err != nil {
		t.Fatalf("npm packages missing (run `make deps` at the repository root): %v", err)
	}
	ts := newTestServer(t, Policy{})
	host := strings.TrimPrefix(ts.srv.URL, "http://")
	out, err := exec.Command(node, "testdata/ypartyserver.mjs", host, "pk-room", "from y-partyserver").Output()
	if err != nil {
		t.Fatalf("node: %v %s", err, out)
	}
	var res map[string]string
	if err := json.Unmarshal(out, &res); err != nil || res["a"] != "from y-partyserver" || res["b"] != res["a"] {
		t.Fatalf("output %q: %v", out, err)
	}
	if code, body := ts.get("/parties/document/pk-room/text"); code != 200 || string(body) != "from y-partyserver" {
		t.Fatalf("server text %d %q", code, body)
	}
}
