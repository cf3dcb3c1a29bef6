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
	"github.com/warrenhq/warren/browsertest"
	"github.com/warrenhq/warren/runtime/nodetest"
	"github.com/warrenhq/warren/runtime/objecttest"
	"github.com/warrenhq/warren/runtime/server"
)

// serveApp is the app as its binary runs it (server.Open: Close shuts the server
// down, sockets closed with 1012, then the runtime), on one data directory.
func serveApp(dataDir string) (http.Handler, error) { return server.Open(app(Policy{}), dataDir) }

func checkBundle(t *testing.T) {
	if _, err := os.Stat(filepath.Join("web", "dist", "app.js")); err != nil {
		t.Fatalf("front end not built (run `make web`): %v", err)
	}
}

// startApp checks the bundle and serves the app in-process to a new browser harness.
func startApp(t *testing.T) (*browsertest.Harness, *objecttest.Server) {
	t.Helper()
	checkBundle(t)
	h := browsertest.New(t, browsertest.Config{Timeout: 20 * time.Second})
	return h, h.Serve(serveApp)
}

// postDoc creates a document named name through the API (a document exists
// only once created: its link alone opens "no such document").
func postDoc(t *testing.T, srvURL, name, title string) DocInfo {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "title": title})
	resp, err := http.Post(srvURL+"/api/docs", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d DocInfo
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&d) != nil {
		t.Fatalf("create %s: %s", name, resp.Status)
	}
	return d
}

// gotoDoc opens document doc in p, as user (none: the name stored in the browser).
func gotoDoc(t *testing.T, p playwright.Page, srvURL, doc, user string) {
	t.Helper()
	u := srvURL + "/d/" + doc
	if user != "" {
		u += "?user=" + user
	}
	if _, err := p.Goto(u); err != nil {
		t.Fatal(err)
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
	h, srv := startApp(t)
	postDoc(t, srv.URL, "e2e-doc", "Meeting notes")
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	if _, err := alice.Goto(srv.URL + "/d/e2e-doc?user=alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Goto(srv.URL + "/d/e2e-doc?user=bob"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []playwright.Page{alice, bob} {
		if err := h.Expect.Locator(p.Locator("#status[data-sync=synced]")).ToBeVisible(); err != nil {
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
	// The README's screenshots (UPDATE_SCREENSHOT=1): bob sees alice type (the
	// editor continues a Markdown list on Enter). At every view: no horizontal
	// scroll, no serious axe violation.
	expect(t, alice.Keyboard().Type("\n\n# Meeting notes\n\n- **Yjs** merges every keystroke\ncursors show who is where\nversions: save, preview, restore"))
	waitEditorText(t, bob, editorText(t, alice))
	h.CheckViews(bob, "editor")
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
		expect(t, h.Expect.Locator(p.Locator("#status[data-sync=synced]")).ToBeVisible())
	}
}

func serverText(t *testing.T, srvURL, doc string) string {
	t.Helper()
	resp, err := http.Get(srvURL + objecttest.PartyPath("document", doc) + "/text")
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
	postDoc(t, srv.URL, "hist", "History")
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	gotoDoc(t, alice, srv.URL, "hist", "alice")
	gotoDoc(t, bob, srv.URL, "hist", "bob")
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

	// restore: a new edit (once confirmed in the app's dialog), seen by both tabs and the server
	expect(t, alice.Locator(".restore-version").Click())
	expect(t, alice.Locator("#restore-dialog").GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Restore"}).Click())
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
	h.CheckViews(viewer, "viewer", browsertest.Views[1], browsertest.Views[2])
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
	h := browsertest.New(t, browsertest.Config{Timeout: 20 * time.Second})
	srv := h.ServeBinary(objecttest.BuildBinary(t, "."))
	postDoc(t, srv.URL, "crash", "Crash test")
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	gotoDoc(t, alice, srv.URL, "crash", "alice")
	gotoDoc(t, bob, srv.URL, "crash", "bob")
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
	gotoDoc(t, carol, srv.URL, "crash", "carol")
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
	postDoc(t, srv.URL, "css", "Hostile CSS")
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

// webHash is web/shared's hash (FNV-1a over UTF-16 code units; these names are
// ASCII) and paletteSize its palette's length: together they say which colour a
// name prefers.
func webHash(s string) uint32 {
	h := uint32(0x811c9dc5)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 0x01000193
	}
	return h
}

const paletteSize = 12

// sameColourName returns a name that prefers the same colour as name.
func sameColourName(name, prefix string) string {
	for i := 0; ; i++ {
		n := fmt.Sprintf("%s%d", prefix, i)
		if webHash(n)%paletteSize == webHash(name)%paletteSize {
			return n
		}
	}
}

// chipColour is the avatar colour of the presence chip named name.
func chipColour(t *testing.T, p playwright.Page, name string) string {
	t.Helper()
	chip := p.Locator("#users .w-chip", playwright.PageLocatorOptions{HasText: name})
	expect(t, chip.WaitFor())
	v, err := chip.Locator(".w-avatar").Evaluate(`(e) => getComputedStyle(e).backgroundColor`, nil)
	expect(t, err)
	return fmt.Sprint(v)
}

// Your name, set in the app, is kept in the browser and shown on your cursor
// and in the presence list of the others, live; two people whose names prefer
// the same colour still get different ones. A rename and a saved version show
// in the other open tab without a reload. Before, the name was a random
// guest-N settable only with ?user=, two people could share a colour, and a
// rename or a new version appeared elsewhere only after a reload.
func TestNamesColoursAndLiveTitle(t *testing.T) {
	h, srv := startApp(t)
	postDoc(t, srv.URL, "live", "Plan")
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	bobName := sameColourName("alice", "bob")
	gotoDoc(t, alice, srv.URL, "live", "alice")
	gotoDoc(t, bob, srv.URL, "live", "")
	waitSynced(t, h, alice, bob)
	// Bob names himself in the app.
	expect(t, bob.Locator("#me").Click())
	expect(t, bob.Locator("#name-dialog input").Fill(bobName))
	expect(t, bob.Locator("#name-dialog input").Press("Enter"))
	expect(t, h.Expect.Locator(bob.Locator("#me-name")).ToHaveText(bobName))
	expect(t, h.Expect.Locator(alice.Locator("#users .w-chip", playwright.PageLocatorOptions{HasText: bobName})).ToHaveCount(1))
	expect(t, bob.Locator(".cm-content").Click())
	expect(t, bob.Keyboard().Type("hi"))
	expect(t, h.Expect.Locator(alice.Locator(".cm-ySelectionInfo", playwright.PageLocatorOptions{HasText: bobName})).ToHaveCount(1))
	// Kept in the browser: a reload keeps it.
	_, err := bob.Reload()
	expect(t, err)
	expect(t, h.Expect.Locator(bob.Locator("#me-name")).ToHaveText(bobName))
	// Distinct colours, in both tabs.
	waitSynced(t, h, bob)
	for _, p := range []playwright.Page{alice, bob} {
		expect(t, h.Expect.Locator(p.Locator("#users .w-chip")).ToHaveCount(2))
		deadline := time.Now().Add(10 * time.Second)
		for chipColour(t, p, "alice") == chipColour(t, p, bobName) {
			if time.Now().After(deadline) {
				t.Fatalf("alice and %s share the colour %s", bobName, chipColour(t, p, "alice"))
			}
			p.WaitForTimeout(100)
		}
	}
	// A rename in alice's tab shows in bob's, live.
	expect(t, alice.Locator("#rename").Click())
	expect(t, alice.Locator("#rename-dialog input").Fill("Plan B"))
	expect(t, alice.Locator("#rename-dialog").GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Rename"}).Click())
	expect(t, h.Expect.Locator(alice.Locator("#doc-title")).ToHaveText("Plan B"))
	expect(t, h.Expect.Locator(bob.Locator("#doc-title")).ToHaveText("Plan B"))
	expect(t, h.Expect.Page(bob).ToHaveTitle("Plan B · Warren docs"))
	// So does a saved version.
	expect(t, alice.Locator("#version-name").Fill("checkpoint"))
	expect(t, alice.Locator("#save-version").Click())
	expect(t, h.Expect.Locator(bob.Locator("#versions .vname")).ToHaveText("checkpoint"))
}

// A link to a document that does not exist says so and creates nothing; the
// page offers to create one, on purpose. A read-only link with a bad token says
// it is not valid instead of retrying a socket forever. Before, any /d/<name>
// created a document by connecting, and a bad /view/ link spun on "offline".
func TestMissingDocumentAndBadLink(t *testing.T) {
	h, srv := startApp(t)
	p := h.NewUser("alice")
	sockets := 0
	p.OnWebSocket(func(playwright.WebSocket) { sockets++ })
	_, err := p.Goto(srv.URL + "/d/mistyped-name")
	expect(t, err)
	expect(t, h.Expect.Locator(p.Locator("#no-such-document h1")).ToHaveText("No such document"))
	h.CheckViews(p, "missing", browsertest.Views[0], browsertest.Views[3])
	if resp, err := http.Get(srv.URL + "/api/docs/mistyped-name"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the page created the document: %v %v", resp.Status, err)
	}
	_, err = p.Goto(srv.URL + "/view/0123456789abcdef0123456789abcdef")
	expect(t, err)
	expect(t, h.Expect.Locator(p.Locator("#invalid-link h1")).ToHaveText("This read-only link is not valid"))
	expect(t, h.Expect.Locator(p.Locator("#status")).ToBeHidden())
	if sockets != 0 {
		t.Errorf("%d WebSockets opened for links that open nothing", sockets)
	}
	// Creating it on purpose, at the link.
	_, err = p.Goto(srv.URL + "/d/mistyped-name")
	expect(t, err)
	expect(t, p.Locator("#create-here").Click())
	expect(t, p.Locator("#new-doc-dialog input").Fill("Now on purpose"))
	expect(t, p.Locator("#new-doc-dialog input").Press("Enter"))
	waitSynced(t, h, p)
	expect(t, h.Expect.Locator(p.Locator("#doc-title")).ToHaveText("Now on purpose"))
	expect(t, h.Expect.Page(p).ToHaveURL(srv.URL+"/d/mistyped-name"))
}

// The list finds documents by title, and shows a phone and a dark screen well.
func TestDocumentListSearch(t *testing.T) {
	h, srv := startApp(t)
	for _, title := range []string{"Roadmap 2027", "Meeting notes", "Team roadmap draft"} {
		resp, err := http.Post(srv.URL+"/api/docs", "application/json", strings.NewReader(fmt.Sprintf(`{"title":%q}`, title)))
		expect(t, err)
		resp.Body.Close()
	}
	p := h.NewUser("alice")
	_, err := p.Goto(srv.URL + "/")
	expect(t, err)
	expect(t, h.Expect.Locator(p.Locator("#docs .doc-title")).ToHaveCount(3))
	expect(t, h.Expect.Locator(p.Locator("#doc-count")).ToHaveText("3 documents"))
	h.CheckViews(p, "list")
	expect(t, p.Locator("#doc-search").Fill("roadmap"))
	expect(t, h.Expect.Locator(p.Locator("#docs .doc-title")).ToHaveText([]string{"Team roadmap draft", "Roadmap 2027"}))
	expect(t, h.Expect.Locator(p.Locator("#doc-count")).ToHaveText("2 documents of 3"))
	expect(t, p.Locator("#doc-search").Fill("nothing like it"))
	expect(t, h.Expect.Locator(p.Locator("#docs .w-empty")).ToHaveText("No document has “nothing like it” in its title."))
}
