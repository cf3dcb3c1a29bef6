//go:build e2e

package browsertest

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mxschmitt/playwright-go"

	"github.com/warrenhq/warren/runtime/objecttest/testapp"
)

func chatAppFunc(dir string) (http.Handler, error) { return testapp.New(dir) }

// send types a message as page's user and submits the form.
func send(t *testing.T, page playwright.Page, name, text string) {
	t.Helper()
	if err := page.Locator("#name").Fill(name); err != nil {
		t.Fatal(err)
	}
	if err := page.Locator("#text").PressSequentially(text); err != nil {
		t.Fatal(err)
	}
	if err := page.Locator("#text").Press("Enter"); err != nil {
		t.Fatal(err)
	}
}

func goOnline(t *testing.T, h *Harness, page playwright.Page) {
	t.Helper()
	if _, err := page.Goto("/"); err != nil {
		t.Fatal(err)
	}
	if err := h.Expect.Locator(page.Locator("#status")).ToHaveText("online"); err != nil {
		t.Fatal(err)
	}
}

func expectLog(t *testing.T, h *Harness, page playwright.Page, want ...string) {
	t.Helper()
	if err := h.Expect.Locator(page.Locator("#log li")).ToHaveText(want); err != nil {
		t.Fatal(err)
	}
}

// Two users chat both ways over a WebSocket; a late joiner sees the history.
func TestTwoUsers(t *testing.T) {
	h := New(t, Config{})
	h.Serve(chatAppFunc)
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	goOnline(t, h, alice)
	goOnline(t, h, bob)

	send(t, alice, "alice", "hello bob")
	expectLog(t, h, bob, "alice: hello bob")
	send(t, bob, "bob", "hi alice")
	expectLog(t, h, alice, "alice: hello bob", "bob: hi alice")

	carol := h.NewUser("carol")
	goOnline(t, h, carol)
	expectLog(t, h, carol, "alice: hello bob", "bob: hi alice")
	if got := h.Console("alice"); !strings.Contains(got, "[log] connected") {
		t.Errorf("alice's console = %q, want the page's 'connected' log", got)
	}
}

// A graceful restart on the same port and data dir: pages get close code 1012,
// reconnect by themselves, and see everything sent before.
func TestRestartReconnects(t *testing.T) {
	h := New(t, Config{})
	srv := h.Serve(chatAppFunc)
	alice := h.NewUser("alice")
	goOnline(t, h, alice)
	send(t, alice, "alice", "before restart")
	expectLog(t, h, alice, "alice: before restart")

	srv.Restart()
	if err := h.Expect.Locator(alice.Locator("#status")).ToHaveAttribute("data-opens", "2"); err != nil {
		t.Fatal(err) // reconnected by itself
	}
	send(t, alice, "alice", "after restart")
	expectLog(t, h, alice, "alice: before restart", "alice: after restart")
	if got := h.Console("alice"); !strings.Contains(got, "closed 1012") {
		t.Errorf("console = %q, want a close with code 1012", got)
	}
}

// The app as a real process, killed with SIGKILL and started again: the page
// reconnects by itself and nothing acknowledged is lost.
func TestKillProcessReconnects(t *testing.T) {
	t.Setenv(testapp.HelperEnv, "1")
	h := New(t, Config{})
	srv := h.ServeBinary(os.Args[0])
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	goOnline(t, h, alice)
	goOnline(t, h, bob)
	send(t, alice, "alice", "durable")
	expectLog(t, h, bob, "alice: durable") // broadcast happens after fsync

	srv.Kill()
	if err := h.Expect.Locator(bob.Locator("#status")).ToHaveText("offline"); err != nil {
		t.Fatal(err)
	}
	srv.Start()
	for _, p := range []playwright.Page{alice, bob} {
		if err := h.Expect.Locator(p.Locator("#status")).ToHaveAttribute("data-opens", "2"); err != nil {
			t.Fatal(err) // reconnected by itself
		}
	}
	send(t, bob, "bob", "still here")
	expectLog(t, h, alice, "alice: durable", "bob: still here")
}

// The artifacts a failing test leaves: a screenshot, the HTML and the console
// log of every page.
func TestSaveArtifacts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "artifacts")
	h := New(t, Config{ArtifactsDir: dir})
	h.Serve(chatAppFunc)
	page := h.NewUser("alice / 1") // not a safe file name on purpose
	goOnline(t, h, page)
	if _, err := page.Evaluate(`() => { console.error("boom from the page"); }`); err != nil {
		t.Fatal(err)
	}
	if err := h.Expect.Locator(page.Locator("#status")).ToHaveText("online"); err != nil {
		t.Fatal(err)
	}
	if h.ArtifactsDir() != dir {
		t.Fatalf("ArtifactsDir() = %q, want %q", h.ArtifactsDir(), dir)
	}
	// The console event may arrive just after Evaluate returns.
	for i := 0; i < 50 && !strings.Contains(h.Console("alice / 1"), "boom"); i++ {
		page.WaitForTimeout(20)
	}
	if err := h.saveArtifacts(dir); err != nil {
		t.Fatal(err)
	}
	png, err := os.ReadFile(filepath.Join(dir, "alice_1.png"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 1000 {
		t.Errorf("alice_1.png: %d bytes, not a real PNG screenshot", len(png))
	}
	log, err := os.ReadFile(filepath.Join(dir, "alice_1.console.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[error] boom from the page", "[log] connected", "# url: http://127.0.0.1:"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("console log lacks %q:\n%s", want, log)
		}
	}
	html, err := os.ReadFile(filepath.Join(dir, "alice_1.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), `<span id="status" data-opens="1">online</span>`) {
		t.Errorf("alice_1.html lacks the live DOM:\n%s", html)
	}
}
