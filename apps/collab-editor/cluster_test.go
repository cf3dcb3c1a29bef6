package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/nodetest"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// TestClusterYWebsocketAnyNode: the stock y-websocket client edits through one node
// of a three-node cluster and reads the same document through the others; after the
// document's owner is killed with SIGKILL, every acknowledged edit reads back through
// a survivor.
func TestClusterYWebsocketAnyNode(t *testing.T) {
	bin := objecttest.BuildBinary(t, ".")
	nodes := objecttest.StartCluster(t, bin, 3, "-log-level", "warn")
	res := runNode(t, nodes[0].URL, "converge", "cluster-doc")
	if res["a"] != res["b"] || strings.Count(res["a"], "a") != 20 || strings.Count(res["a"], "b") != 20 {
		t.Fatalf("clients did not converge through n1: %q", res)
	}
	text := res["a"]
	for _, n := range nodes[1:] {
		if got := runNode(t, n.URL, "read", "cluster-doc")["text"]; got != text {
			t.Fatalf("read through %s: %q, want %q", n.Addr, got, text)
		}
	}
	runNode(t, nodes[2].URL, "write", "cluster-doc", "+acked")
	text += "+acked"
	owner := -1
	for i, n := range nodes {
		if routed, ok := n.Metric("warren_routed_requests_total"); ok && routed == 0 {
			owner = i // the owner proxies nothing for this one document
		}
	}
	if owner < 0 {
		t.Fatal("no node served the document without routing")
	}
	t.Logf("document served by n%d; killing it", owner+1)
	killed := time.Now()
	nodes[owner].Kill()
	survivor := nodes[(owner+1)%3]
	deadline := time.Now().Add(90 * time.Second)
	for {
		got, err := readText(t, survivor.URL, "cluster-doc")
		if err == nil && got == text {
			t.Logf("read back through %s %v after the kill", survivor.Addr, time.Since(killed).Round(100*time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after killing the owner, read %q (%v) through %s, want %q", got, err, survivor.Addr, text)
		}
		time.Sleep(time.Second)
	}
}

// readText runs yclient.mjs's "read" of doc through the node at srvURL; an error
// (the document's node is being replaced) is returned, not fatal.
func readText(t *testing.T, srvURL, doc string) (string, error) {
	t.Helper()
	node := nodetest.Require(t, "yjs", "y-websocket", "ws")
	ws := "ws" + strings.TrimPrefix(srvURL, "http") + "/parties/document"
	out, err := node.Run(t, time.Minute, "testdata/yclient.mjs", "read", ws, doc)
	if err != nil {
		return "", err
	}
	var res map[string]string
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return "", err
	}
	return res["text"], nil
}
