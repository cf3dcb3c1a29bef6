//go:build e2e

package main

import (
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/mxschmitt/playwright-go"

	"github.com/warrenhq/warren/runtime/browsertest"
)

// Browser tests of the chat, two or three users in Chromium. Run with `make e2e`.
// UPDATE_SCREENSHOT=1 also writes docs/screenshot.png for the README.

func serveInProcess(h *browsertest.Harness) *browsertest.Server {
	return h.Serve(func(dir string) (http.Handler, error) { return newApp(dir, Limits{Burst: 50, Rate: 20}) })
}

// join opens room as a user called name, answers the name dialog and waits until connected.
func join(t *testing.T, h *browsertest.Harness, p playwright.Page, room, name string) {
	t.Helper()
	if _, err := p.Goto("/" + room); err != nil {
		t.Fatal(err)
	}
	must(t, p.Locator("#name-dialog input").Fill(name))
	must(t, p.Locator("#name-dialog button").Click())
	must(t, h.Expect.Locator(p.Locator("#status")).ToHaveText("connected"))
}

func say(t *testing.T, p playwright.Page, text string) {
	t.Helper()
	must(t, p.Locator("#composer textarea").Fill(text))
	must(t, p.Locator("#composer textarea").Press("Enter"))
}

// msg is the confirmed message row whose content is exactly text.
func msg(p playwright.Page, text string) playwright.Locator {
	return p.Locator("#messages li.msg:not(.pending)").Filter(playwright.LocatorFilterOptions{
		Has: p.Locator(".content", playwright.PageLocatorOptions{HasText: text}),
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestChatTwoUsers(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 15 * time.Second})
	srv := serveInProcess(h)
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	join(t, h, alice, "lobby", "alice")
	join(t, h, bob, "lobby", "bob")

	// Presence and join notices.
	must(t, h.Expect.Locator(alice.Locator("#online li")).ToHaveCount(2))
	must(t, h.Expect.Locator(alice.Locator("#messages .notice").Last()).ToHaveText("bob joined"))

	// Both ways, live.
	say(t, alice, "hi bob")
	must(t, h.Expect.Locator(msg(bob, "hi bob").Locator(".author")).ToHaveText("alice"))
	say(t, bob, "hi alice")
	must(t, h.Expect.Locator(msg(alice, "hi alice")).ToHaveCount(1))

	// Typing appears and disappears.
	must(t, bob.Locator("#composer textarea").Fill("still typ"))
	must(t, h.Expect.Locator(alice.Locator("#typing")).ToHaveText("bob is typing…"))
	must(t, bob.Locator("#composer textarea").Press("Enter"))
	must(t, h.Expect.Locator(alice.Locator("#typing")).ToHaveText(""))

	// Hostile content renders as text.
	hostile := `<img src=x onerror=alert(1)>`
	say(t, alice, hostile)
	must(t, h.Expect.Locator(msg(bob, hostile)).ToHaveCount(1))
	must(t, h.Expect.Locator(bob.Locator("#messages img")).ToHaveCount(0))

	// Edit and delete propagate; nobody can touch someone else's message.
	must(t, h.Expect.Locator(msg(bob, "hi bob").Locator("button.edit")).ToHaveCount(0))
	must(t, msg(alice, "hi bob").Hover())
	must(t, msg(alice, "hi bob").Locator("button.edit").Click())
	must(t, alice.Locator(".edit-box").Fill("hi bob, edited"))
	must(t, alice.Locator(".edit-box").Press("Enter"))
	must(t, h.Expect.Locator(msg(bob, "hi bob, edited").Locator(".edited")).ToHaveCount(1))
	say(t, alice, "oops wrong room")
	must(t, h.Expect.Locator(msg(bob, "oops wrong room")).ToHaveCount(1))
	must(t, msg(alice, "oops wrong room").Hover())
	must(t, msg(alice, "oops wrong room").Locator("button.delete").Click())
	must(t, h.Expect.Locator(msg(bob, "oops wrong room")).ToHaveCount(0))

	// Search finds a message.
	must(t, bob.Locator("#search input").Fill("edited"))
	must(t, bob.Locator("#search input").Press("Enter"))
	must(t, h.Expect.Locator(bob.Locator("#search-results .msg .content")).ToHaveText([]string{"hi bob, edited"}))
	must(t, bob.Locator("#search-close").Click())

	// A late joiner sees the history; a leaver disappears from the list.
	carol := h.NewUser("carol")
	join(t, h, carol, "lobby", "carol")
	must(t, h.Expect.Locator(carol.Locator("#messages .msg .content")).ToHaveText([]string{"hi bob, edited", "hi alice", "still typ", hostile}))
	must(t, carol.Close())
	must(t, h.Expect.Locator(alice.Locator("#online li")).ToHaveCount(2))
	must(t, h.Expect.Locator(alice.Locator("#messages .notice").Last()).ToHaveText("carol left"))

	// A reload keeps the name and the history.
	if _, err := bob.Reload(); err != nil {
		t.Fatal(err)
	}
	must(t, h.Expect.Locator(bob.Locator("#me-name")).ToHaveText("bob"))
	must(t, h.Expect.Locator(bob.Locator("#name-dialog")).Not().ToBeVisible())
	must(t, h.Expect.Locator(msg(bob, "hi alice")).ToHaveCount(1))

	if os.Getenv("UPDATE_SCREENSHOT") != "" {
		if _, err := alice.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String("docs/screenshot.png")}); err != nil {
			t.Fatal(err)
		}
	}

	// A graceful restart: both reconnect by themselves, nothing lost or doubled.
	srv.Restart()
	must(t, h.Expect.Locator(alice.Locator("#status")).ToHaveText("connected"))
	say(t, alice, "after restart")
	must(t, h.Expect.Locator(msg(bob, "after restart")).ToHaveCount(1))
	must(t, h.Expect.Locator(bob.Locator("#messages .msg")).ToHaveCount(5))
}

func TestChatSurvivesSIGKILL(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 20 * time.Second})
	srv := h.ServeBinary(browsertest.BuildBinary(t, "."))
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	join(t, h, alice, "crash", "alice")
	join(t, h, bob, "crash", "bob")
	for _, s := range []string{"one", "two", "three"} {
		say(t, alice, s)
		must(t, h.Expect.Locator(msg(bob, s)).ToHaveCount(1))
	}
	srv.Kill()
	must(t, h.Expect.Locator(alice.Locator("#status")).ToHaveText("reconnecting…"))
	say(t, alice, "sent while down") // stays pending, then goes out after the reconnect
	must(t, h.Expect.Locator(alice.Locator("#messages li.msg.pending")).ToHaveCount(1))
	srv.Start()
	for _, p := range []playwright.Page{alice, bob} {
		must(t, h.Expect.Locator(p.Locator("#status")).ToHaveText("connected"))
		must(t, h.Expect.Locator(p.Locator("#messages .msg .content")).ToHaveText([]string{"one", "two", "three", "sent while down"}))
	}
	must(t, h.Expect.Locator(alice.Locator("#messages li.msg.pending")).ToHaveCount(0))
	// And a fresh page agrees: the history on disk has each message once.
	carol := h.NewUser("carol")
	join(t, h, carol, "crash", "carol")
	must(t, h.Expect.Locator(carol.Locator("#messages .msg .content")).ToHaveText([]string{"one", "two", "three", "sent while down"}))
}
