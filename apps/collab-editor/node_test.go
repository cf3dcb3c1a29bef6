package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/nodetest"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// runNode runs testdata/yclient.mjs against the server and returns the JSON
// object it prints. It needs node and `npm ci` at the repository root (see
// nodetest).
func runNode(t *testing.T, srvURL string, args ...string) map[string]string {
	t.Helper()
	node := nodetest.Require(t, "yjs", "y-websocket", "ws")
	ws := "ws" + strings.TrimPrefix(srvURL, "http") + "/parties/document"
	out, err := node.Run(t, time.Minute, "testdata/yclient.mjs", append([]string{args[0], ws}, args[1:]...)...)
	if err != nil {
		t.Fatalf("node %v: %v\n%s", args, err, out)
	}
	var res map[string]string
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("node output %q: %v", out, err)
	}
	return res
}

// TestNodeYWebsocketClient: real npm yjs + y-websocket clients converge through
// the server, a late joiner gets the document, and it survives a graceful
// restart and a SIGKILL.
func TestNodeYWebsocketClient(t *testing.T) {
	bin := objecttest.BuildBinary(t, ".")
	srv := objecttest.ServeBinary(t, bin)
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
	node := nodetest.Require(t, "yjs", "y-partyserver", "ws")
	ts := newTestServer(t, Policy{})
	host := strings.TrimPrefix(ts.srv.URL, "http://")
	out, err := node.Run(t, time.Minute, "testdata/ypartyserver.mjs", host, "pk-room", "from y-partyserver")
	if err != nil {
		t.Fatalf("node: %v %s", err, out)
	}
	var res map[string]string
	if err := json.Unmarshal([]byte(out), &res); err != nil || res["a"] != "from y-partyserver" || res["b"] != res["a"] {
		t.Fatalf("output %q: %v", out, err)
	}
	if code, body := ts.get("/parties/document/pk-room/text"); code != 200 || string(body) != "from y-partyserver" {
		t.Fatalf("server text %d %q", code, body)
	}
}
