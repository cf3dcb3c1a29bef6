//go:build e2e

package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mxschmitt/playwright-go"
	"github.com/warrenhq/warren/runtime/browsertest"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

func serveApp(dataDir string) (http.Handler, error) {
	rt, err := object.New(object.Config{DataDir: dataDir})
	if err != nil {
		return nil, err
	}
	s := server.New(rt, server.Config{Assets: assets()})
	if err := setup(Policy{})(rt, s); err != nil {
		return nil, err
	}
	return closer{s, rt}, nil
}

// closer releases the runtime (and its data directory lock) when the harness stops the server.
type closer struct {
	*server.Server
	rt *object.Runtime
}

func (c closer) Close() error {
	c.rt.CloseSockets(object.CloseServiceRestart, "service restart")
	return c.rt.Close()
}

func checkBundle(t *testing.T) {
	if _, err := os.Stat(filepath.Join("web", "dist", "app.js")); err != nil {
		t.Fatalf("front end not built (run `make web`): %v", err)
	}
}

func editorText(t *testing.T, p playwright.Page) string {
	v, err := p.Evaluate(`() => window.editor ? window.editor.text() : null`)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := v.(string)
	return s
}

// TestEditorsConverge: two editors type concurrently and converge, cursors with
// names show, a late joiner gets the document, a restart loses nothing.
func TestEditorsConverge(t *testing.T) {
	checkBundle(t)
	h := browsertest.New(t, browsertest.Config{})
	srv := h.Serve(serveApp)
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	if _, err := alice.Goto(srv.URL + "/d/e2e-doc?user=alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Goto(srv.URL + "/d/e2e-doc?user=bob"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []playwright.Page{alice, bob} {
		if err := h.Expect.Locator(p.Locator("#status[data-state=synced]")).ToBeVisible(); err != nil {
			t.Fatal(err)
		}
	}
	if err := alice.Locator(".cm-content").Click(); err != nil {
		t.Fatal(err)
	}
	if err := bob.Locator(".cm-content").Click(); err != nil {
		t.Fatal(err)
	}
	// A third client: the stock y-websocket WebsocketProvider in Node, no app UI.
	nodeText := startNode(t, srv.URL, "join", "e2e-doc", "@", "END")
	waitEditorText(t, alice, "@")
	done := make(chan error, 1)
	go func() { done <- bob.Keyboard().Type("BBBBBBBBBB") }()
	if err := alice.Keyboard().Type("AAAAAAAAAA"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, p := range []playwright.Page{alice, bob} {
		if err := h.Expect.Locator(p.Locator(".cm-content")).ToContainText("AAAAAAAAAA"); err != nil {
			t.Fatal(err)
		}
		if err := h.Expect.Locator(p.Locator(".cm-content")).ToContainText("BBBBBBBBBB"); err != nil {
			t.Fatal(err)
		}
	}
	if err := alice.Keyboard().Type("END"); err != nil {
		t.Fatal(err)
	}
	nt := nodeText()
	waitEditorText(t, alice, nt)
	waitEditorText(t, bob, nt)
	if len(nt) != 24 || strings.Count(nt, "@") != 1 {
		t.Fatalf("node client text %q", nt)
	}
	// remote cursor with the other user's name
	if err := h.Expect.Locator(alice.Locator(".cm-ySelectionInfo", playwright.PageLocatorOptions{HasText: "bob"})).ToHaveCount(1); err != nil {
		t.Fatal(err)
	}
	if err := h.Expect.Locator(bob.Locator("#users")).ToContainText("alice"); err != nil {
		t.Fatal(err)
	}
	// markdown preview
	if err := h.Expect.Locator(alice.Locator("#preview")).ToContainText("AAAAAAAAAA"); err != nil {
		t.Fatal(err)
	}
	want := editorText(t, alice)
	carol := h.NewUser("carol")
	carol.Goto(srv.URL + "/d/e2e-doc?user=carol")
	waitEditorText(t, carol, want)
	// offline edit merges on reconnect
	if _, err := alice.Evaluate(`() => window.editor.provider.disconnect()`); err != nil {
		t.Fatal(err)
	}
	alice.Keyboard().Type("off")
	if _, err := alice.Evaluate(`() => window.editor.provider.connect()`); err != nil {
		t.Fatal(err)
	}
	if err := h.Expect.Locator(carol.Locator(".cm-content")).ToContainText("off"); err != nil {
		t.Fatal(err)
	}
	final := editorText(t, carol)
	srv.Restart()
	dave := h.NewUser("dave")
	dave.Goto(srv.URL + "/d/e2e-doc?user=dave")
	waitEditorText(t, dave, final)
}

// waitEditorText waits until the page's Y.Text is want (the DOM also holds the
// remote cursors' name labels).
func waitEditorText(t *testing.T, p playwright.Page, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := editorText(t, p)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("editor text %q, want %q", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startNode runs testdata/yclient.mjs in the background; the returned function
// waits for it and returns the "text" it printed.
func startNode(t *testing.T, srvURL string, args ...string) func() string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for this test: %v", err)
	}
	ws := "ws" + strings.TrimPrefix(srvURL, "http") + "/parties/document"
	cmd := exec.Command(node, append([]string{"testdata/yclient.mjs", args[0], ws}, args[1:]...)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return func() string {
		t.Helper()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("node %v: %v\n%s%s", args, err, out.String(), stderr.String())
		}
		var res map[string]string
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("node output %q: %v", out.String(), err)
		}
		return res["text"]
	}
}

