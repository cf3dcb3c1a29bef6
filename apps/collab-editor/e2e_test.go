//go:build e2e

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mxschmitt/playwright-go"
	"github.com/warrenhq/warren/runtime/browsertest"
	"github.com/warrenhq/warren/runtime/nodetest"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

func serveApp(dataDir string) (http.Handler, error) {
	rt, err := object.New(object.Config{DataDir: dataDir})
	if err != nil {
		return nil, err
	}
	s := server.New(rt, server.Config{Assets: server.Dist(dist, "web/dist")})
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

// startApp checks the bundle and serves the app in-process to a new browser harness.
func startApp(t *testing.T) (*browsertest.Harness, *browsertest.Server) {
	t.Helper()
	checkBundle(t)
	h := browsertest.New(t, browsertest.Config{})
	return h, h.Serve(serveApp)
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
	h, srv := startApp(t)
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
	if os.Getenv("UPDATE_SCREENSHOT") != "" { // the README's screenshot: bob sees alice type
		alice.Keyboard().Type("\n\n# Meeting notes\n\n- **Yjs** merges every keystroke\ncursors show who is where\nversions: save, preview, restore")
		waitEditorText(t, bob, editorText(t, alice))
		bob.SetViewportSize(1280, 720)
		if _, err := bob.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String("docs/screenshot.png")}); err != nil {
			t.Fatal(err)
		}
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
	node := nodetest.Require(t, "yjs", "y-websocket", "ws")
	ws := "ws" + strings.TrimPrefix(srvURL, "http") + "/parties/document"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	cmd := node.Command(t, ctx, "testdata/yclient.mjs", append([]string{args[0], ws}, args[1:]...)...)
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

func expect(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func waitSynced(t *testing.T, h *browsertest.Harness, pages ...playwright.Page) {
	t.Helper()
	for _, p := range pages {
		expect(t, h.Expect.Locator(p.Locator("#status[data-state=synced]")).ToBeVisible())
	}
}

func serverText(t *testing.T, srvURL, doc string) string {
	t.Helper()
	resp, err := http.Get(srvURL + "/parties/document/" + doc + "/text")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestVersionHistory: save a named version, edit, preview the version, restore
// it as a new edit; both tabs converge on the restored text.
func TestVersionHistory(t *testing.T) {
	h, srv := startApp(t)
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	_, err := alice.Goto(srv.URL + "/d/hist?user=alice")
	expect(t, err)
	_, err = bob.Goto(srv.URL + "/d/hist?user=bob")
	expect(t, err)
	waitSynced(t, h, alice, bob)
	expect(t, alice.Locator(".cm-content").Click())
	expect(t, alice.Keyboard().Type("first draft"))
	waitEditorText(t, bob, "first draft")

	expect(t, alice.Locator("#version-name").Fill("v1"))
	expect(t, alice.Locator("#save-version").Click())
	expect(t, h.Expect.Locator(alice.Locator("#versions .vname")).ToHaveText("v1"))

	expect(t, bob.Locator(".cm-content").Click())
	expect(t, bob.Keyboard().Press("Control+End"))
	expect(t, bob.Keyboard().Type(" then more"))
	waitEditorText(t, alice, "first draft then more")

	// preview: the version's text in a dialog, the document unchanged
	expect(t, alice.Locator(".preview-version").Click())
	expect(t, h.Expect.Locator(alice.Locator("#version-dialog .version-text")).ToHaveText("first draft"))
	expect(t, alice.Locator("#version-dialog button").Click())
	if got := editorText(t, alice); got != "first draft then more" {
		t.Fatalf("preview changed the document: %q", got)
	}

	// restore: a new edit (confirm accepted), seen by both tabs and the server
	alice.OnDialog(func(d playwright.Dialog) { d.Accept() })
	expect(t, alice.Locator(".restore-version").Click())
	waitEditorText(t, alice, "first draft")
	waitEditorText(t, bob, "first draft")
	waitUntilE2E(t, "server text", func() bool { return serverText(t, srv.URL, "hist") == "first draft" })
	// history is kept: bob can keep editing after the restore
	expect(t, bob.Keyboard().Type("!"))
	waitEditorText(t, alice, "first draft!")
}

// TestReadOnlyShare: the share link opens a live, read-only view.
func TestReadOnlyShare(t *testing.T) {
	h, srv := startApp(t)
	resp, err := http.Post(srv.URL+"/api/docs", "application/json", strings.NewReader(`{"title":"Shared notes"}`))
	expect(t, err)
	var d DocInfo
	json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	if d.ViewToken == "" {
		t.Fatalf("create: %+v", d)
	}
	alice := h.NewUser("alice")
	_, err = alice.Goto(srv.URL + "/d/" + d.Name + "?user=alice")
	expect(t, err)
	waitSynced(t, h, alice)
	expect(t, alice.Locator(".cm-content").Click())
	expect(t, alice.Keyboard().Type("hello"))
	link, err := alice.Locator("#share-link").GetAttribute("href")
	expect(t, err)
	if !strings.Contains(link, "/view/"+d.ViewToken) || strings.Contains(link, d.Name) {
		t.Fatalf("share link %q", link)
	}

	viewer := h.NewUser("viewer")
	_, err = viewer.Goto(link)
	expect(t, err)
	waitSynced(t, h, viewer)
	expect(t, h.Expect.Locator(viewer.Locator(".readonly-badge")).ToBeVisible())
	expect(t, h.Expect.Locator(viewer.Locator("#doc-title")).ToHaveText("Shared notes"))
	waitEditorText(t, viewer, "hello")
	expect(t, alice.Keyboard().Type(" world"))
	waitEditorText(t, viewer, "hello world") // live
	expect(t, h.Expect.Locator(viewer.Locator("#preview")).ToContainText("hello world"))

	// the viewer cannot type: the editor is not editable, keys change nothing
	expect(t, h.Expect.Locator(viewer.Locator(".cm-content")).ToHaveAttribute("contenteditable", "false"))
	expect(t, viewer.Locator(".cm-content").Click())
	expect(t, viewer.Keyboard().Type("XYZ"))
	// and an edit forced through its Yjs doc is dropped by the server
	_, err = viewer.Evaluate(`() => window.editor.ytext.insert(0, "EVIL ")`)
	expect(t, err)
	expect(t, alice.Keyboard().Type("!"))
	waitUntilE2E(t, "alice's edit at the server", func() bool { return serverText(t, srv.URL, d.Name) == "hello world!" })
	time.Sleep(300 * time.Millisecond)
	if got := editorText(t, alice); got != "hello world!" {
		t.Fatalf("the viewer's edits reached alice: %q", got)
	}
	if got := serverText(t, srv.URL, d.Name); got != "hello world!" {
		t.Fatalf("the viewer's edits reached the server: %q", got)
	}
	if got := editorText(t, viewer); strings.Contains(got, "XYZ") {
		t.Fatalf("the viewer typed: %q", got)
	}
}

// TestKillWhileTyping: two tabs type while the real server binary is SIGKILLed
// and restarted; both reconnect and converge, and no acknowledged token (one the
// server relayed to the other tab before the kill) is lost; in fact none of the
// typed tokens is, as the tabs resend what the server had not stored.
func TestKillWhileTyping(t *testing.T) {
	checkBundle(t)
	h := browsertest.New(t, browsertest.Config{})
	srv := h.ServeBinary(browsertest.BuildBinary(t, "."))
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	_, err := alice.Goto(srv.URL + "/d/crash?user=alice")
	expect(t, err)
	_, err = bob.Goto(srv.URL + "/d/crash?user=bob")
	expect(t, err)
	waitSynced(t, h, alice, bob)
	// alice types at the start, bob at the end, so tokens never interleave
	expect(t, alice.Locator(".cm-content").Click())
	expect(t, alice.Keyboard().Type("|"))
	waitEditorText(t, bob, "|")
	expect(t, alice.Keyboard().Press("Control+Home"))
	expect(t, bob.Locator(".cm-content").Click())
	expect(t, bob.Keyboard().Press("Control+End"))

	const n = 40
	token := func(who string, i int) string { return fmt.Sprintf("<%s%02d>", who, i) }
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	var mu sync.Mutex
	typed := map[string]int{}
	for _, u := range []struct {
		who string
		p   playwright.Page
	}{{"a", alice}, {"b", bob}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if err := u.p.Keyboard().Type(token(u.who, i)); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				typed[u.who] = i + 1
				mu.Unlock()
				time.Sleep(30 * time.Millisecond)
			}
		}()
	}
	// kill once each tab has seen some of the other's tokens
	waitUntilE2E(t, "typing under way", func() bool {
		return strings.Contains(editorText(t, bob), token("a", 8)) && strings.Contains(editorText(t, alice), token("b", 8))
	})
	// acknowledged: relayed by the server to the other tab (so durable), and what it serves
	acked := tokens(editorText(t, bob), "a")
	for tok := range tokens(editorText(t, alice), "b") {
		acked[tok] = true
	}
	for tok := range tokens(serverText(t, srv.URL, "crash"), "") {
		acked[tok] = true
	}
	srv.Kill()
	mu.Lock()
	atKill := fmt.Sprint(typed)
	mu.Unlock()
	time.Sleep(700 * time.Millisecond) // the tabs keep typing offline
	srv.Start()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitSynced(t, h, alice, bob)
	want := editorText(t, alice)
	waitUntilE2E(t, "convergence", func() bool {
		want = editorText(t, alice)
		return editorText(t, bob) == want && serverText(t, srv.URL, "crash") == want && len(tokens(want, "")) == 2*n
	})
	got := tokens(want, "")
	for tok := range acked {
		if !got[tok] {
			t.Errorf("acknowledged token %s lost (final %q)", tok, want)
		}
	}
	for _, who := range []string{"a", "b"} {
		for i := range n {
			if strings.Count(want, token(who, i)) != 1 {
				t.Errorf("token %s appears %d times in %q", token(who, i), strings.Count(want, token(who, i)), want)
			}
		}
	}
	t.Logf("%d tokens acknowledged before the kill; typed at the kill: %s", len(acked), atKill)
	// and a fresh tab after one more restart gets the same text
	srv.Restart()
	carol := h.NewUser("carol")
	_, err = carol.Goto(srv.URL + "/d/crash?user=carol")
	expect(t, err)
	waitEditorText(t, carol, want)
}

// tokens returns the <xNN> tokens in s (of writer who, or all when who is "").
func tokens(s, who string) map[string]bool {
	out := map[string]bool{}
	for _, part := range strings.Split(s, "<")[1:] {
		end := strings.IndexByte(part, '>')
		if end < 0 || (who != "" && !strings.HasPrefix(part, who)) {
			continue
		}
		out["<"+part[:end+1]] = true
	}
	return out
}

func waitUntilE2E(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPreviewNoCSS pins issue 14 finding 15: DOMPurify's defaults let <style>
// through, so a document restyled the page of everyone who opened it. The
// preview now drops <style> elements (also inside SVG) and style attributes.
func TestPreviewNoCSS(t *testing.T) {
	h, srv := startApp(t)
	alice := h.NewUser("alice")
	_, err := alice.Goto(srv.URL + "/d/css?user=alice")
	expect(t, err)
	waitSynced(t, h, alice)
	hostile := "<style>body{background:rgb(255,0,0)!important}#editor{display:none}</style>\n\n" +
		`<p style="position:fixed;inset:0;background:rgb(0,0,255)">cover</p>` + "\n\n" +
		"<svg><style>body{color:rgb(0,255,0)}</style></svg>\n\nafter"
	_, err = alice.Evaluate(`(s) => window.editor.ytext.insert(0, s)`, hostile)
	expect(t, err)
	expect(t, h.Expect.Locator(alice.Locator("#preview")).ToContainText("after"))
	got, err := alice.Evaluate(`() => ({
		styles: document.querySelectorAll("#preview style").length,
		styled: document.querySelectorAll("#preview [style]").length,
		background: getComputedStyle(document.body).backgroundColor,
		color: getComputedStyle(document.body).color,
		editorShown: getComputedStyle(document.getElementById("editor")).display !== "none",
	})`)
	expect(t, err)
	m, _ := got.(map[string]any)
	if m["styles"] != 0 || m["styled"] != 0 || m["background"] == "rgb(255, 0, 0)" || m["color"] == "rgb(0, 255, 0)" || m["editorShown"] != true {
		t.Fatalf("the document's CSS reached the page: %v", m)
	}
}

// TestDocumentList pins issue 14 finding 4 in the browser: the list showed every
// document's edit link to everyone. Now the list holds titles and read-only
// links; the browser that created a document (or opened its edit link) keeps
// the edit link, others get the read-only view and never see the name.
func TestDocumentList(t *testing.T) {
	h, srv := startApp(t)
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	_, err := alice.Goto(srv.URL + "/")
	expect(t, err)
	expect(t, alice.Locator("#new-title").Fill("Alpha"))
	expect(t, alice.Locator("#create-doc").Click())
	expect(t, alice.WaitForURL("**/d/*"))
	name := strings.TrimPrefix(alice.URL(), srv.URL+"/d/")
	if len(name) < 2*secretBytes {
		t.Fatalf("created document name %q: not a secret", name)
	}
	waitSynced(t, h, alice)
	_, err = alice.Goto(srv.URL + "/")
	expect(t, err)
	link := alice.Locator("#docs a", playwright.PageLocatorOptions{HasText: "Alpha"})
	expect(t, h.Expect.Locator(link).ToHaveAttribute("href", "/d/"+name))
	expect(t, h.Expect.Locator(alice.Locator("#docs .rename")).ToHaveCount(1))

	_, err = bob.Goto(srv.URL + "/")
	expect(t, err)
	link = bob.Locator("#docs a", playwright.PageLocatorOptions{HasText: "Alpha"})
	href, err := link.GetAttribute("href")
	expect(t, err)
	if !strings.HasPrefix(href, "/view/") {
		t.Fatalf("bob's link %q, want the read-only view", href)
	}
	html, err := bob.Content()
	expect(t, err)
	if strings.Contains(html, name) {
		t.Fatal("bob's list page holds the document's name")
	}
	expect(t, link.Click())
	waitSynced(t, h, bob)
	expect(t, h.Expect.Locator(bob.Locator(".readonly-badge")).ToBeVisible())
}
