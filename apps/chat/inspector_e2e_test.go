//go:build e2e

package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/mxschmitt/playwright-go"

	"github.com/warrenhq/warren/browsertest"
	"github.com/warrenhq/warren/runtime/admin"
	"github.com/warrenhq/warren/runtime/history"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

const inspectorToken = "inspector-token-0123456789"

// recordCloses makes a page remember the close code of every WebSocket it opens.
const recordCloses = `window.__closes = [];
const NativeWS = window.WebSocket;
window.WebSocket = class extends NativeWS {
  constructor(...args) { super(...args); this.addEventListener("close", (e) => window.__closes.push(e.code)); }
};`

// TestInspector drives the inspector at /_warren/ of a running chat: a wrong token is
// refused, then an operator finds a room by name, sees its metrics (messages sent and
// rows written, which issue 18's first pass did not count), reads its messages table, runs a
// read-only query, sees a write refused, and deletes a test room, whose socket is
// closed with 4404.
func TestInspector(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 15 * time.Second})
	h.Serve(func(dir string) (http.Handler, error) {
		app := chatApp(Limits{Burst: 50, Rate: 20})
		app.Server.Admin = admin.Config{Token: inspectorToken}
		chatSetup := app.Setup
		app.Setup = func(rt *object.Runtime, s *server.Server) error {
			if err := chatSetup(rt, s); err != nil {
				return err
			}
			return mountShelf(rt, s)
		}
		hist, err := history.New(history.Config{Dir: filepath.Join(dir, ".history"), Retention: time.Hour})
		if err != nil {
			return nil, err
		}
		app.Runtime.History = hist
		host, err := server.Open(app, dir)
		if err != nil {
			hist.Close()
			return nil, err
		}
		return hostWithHistory{host, hist}, nil
	})
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	must(t, bob.AddInitScript(playwright.Script{Content: playwright.String(recordCloses)}))
	join(t, h, alice, "book-club", "alice")
	say(t, alice, "hello from alice")
	say(t, alice, "second message")
	must(t, h.Expect.Locator(msg(alice, "second message")).ToHaveCount(1))
	join(t, h, bob, "test-room-42", "bob")
	say(t, bob, "to be deleted")
	must(t, h.Expect.Locator(msg(bob, "to be deleted")).ToHaveCount(1))

	op := h.NewUser("operator")
	op.OnDialog(func(d playwright.Dialog) { d.Accept() })
	if _, err := op.Goto("/_warren/"); err != nil {
		t.Fatal(err)
	}
	// The token is refused when wrong; the inspector opens with the right one.
	must(t, op.Locator("#token").Fill("not-the-token-at-all"))
	must(t, op.Locator("button[type=submit]").Click())
	must(t, h.Expect.Locator(op.Locator("#failed")).ToBeVisible())
	must(t, op.Locator("#token").Fill(inspectorToken))
	must(t, op.Locator("button[type=submit]").Click())
	must(t, h.Expect.Locator(op.Locator("#namespace")).ToHaveValue("chat"))

	// Find the room by name and read its messages table.
	must(t, op.Locator("#search").Fill("book"))
	rows := op.Locator("#objects tbody tr")
	must(t, h.Expect.Locator(rows).ToHaveCount(1))
	must(t, h.Expect.Locator(rows.First().Locator("td").First()).ToHaveText("book-club"))
	must(t, rows.First().Click())
	must(t, h.Expect.Locator(op.Locator("#object-title")).ToHaveText("book-club"))
	// Its metrics: the turns that stored alice's messages wrote rows and sent them.
	metrics := op.Locator("#object-metrics tbody td")
	must(t, h.Expect.Locator(metrics.Nth(3)).ToHaveText(regexp.MustCompile(`^[1-9]`))) // messages out
	must(t, h.Expect.Locator(metrics.Nth(5)).ToHaveText(regexp.MustCompile(`^[1-9]`))) // rows written
	must(t, op.Locator("#tables li[data-table=messages]").Click())
	must(t, h.Expect.Locator(op.Locator("#rows")).ToContainText("hello from alice"))
	must(t, h.Expect.Locator(op.Locator("#rows")).ToContainText("second message"))

	// A read-only query, then a write the console refuses.
	must(t, op.Locator("#sql").Fill("SELECT user, content FROM messages ORDER BY seq"))
	must(t, op.Locator("#run").Click())
	must(t, h.Expect.Locator(op.Locator("#sql-result tbody tr")).ToHaveCount(2))
	must(t, h.Expect.Locator(op.Locator("#sql-result")).ToContainText("alice"))
	if os.Getenv("UPDATE_SCREENSHOT") != "" { // docs/inspector.png for the README
		must(t, op.SetViewportSize(1400, 900))
		if _, err := op.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String("docs/inspector.png"), FullPage: playwright.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	must(t, op.Locator("#sql").Fill("DELETE FROM messages"))
	must(t, op.Locator("#run").Click())
	must(t, h.Expect.Locator(op.Locator("#sql-error")).ToContainText("read-only"))
	must(t, h.Expect.Locator(alice.Locator("#messages li.msg")).ToHaveCount(2))

	// History (issue 21): the room's current bookmark; a third message; a restore to
	// the bookmark takes it away, and the undo bookmark it fills in brings it back.
	messages := func(want string) {
		t.Helper()
		must(t, op.Locator("#sql").Fill("SELECT count(*) FROM messages"))
		must(t, op.Locator("#run").Click())
		must(t, h.Expect.Locator(op.Locator("#sql-result tbody td")).ToHaveText(want))
	}
	current := op.Locator("#history-state code")
	must(t, h.Expect.Locator(current).ToHaveText(regexp.MustCompile(`^[0-9a-f]{40}$`)))
	twoMessages, err := current.TextContent()
	must(t, err)
	say(t, alice, "third message")
	must(t, h.Expect.Locator(msg(alice, "third message")).ToHaveCount(1))
	messages("3")
	must(t, op.Locator("#history-bookmark").Fill(twoMessages))
	must(t, op.Locator("#history-restore").Click())
	must(t, h.Expect.Locator(op.Locator("#history-result")).ToContainText("to undo"))
	messages("2")
	must(t, op.Locator("#history-restore").Click()) // the undo bookmark is filled in
	must(t, h.Expect.Locator(op.Locator("#history-result")).ToContainText("to undo"))
	messages("3")
	// The bookmark of a time after the last commit is the current one.
	must(t, op.Locator("#history-at").Fill(time.Now().Add(24*time.Hour).Format("2006-01-02T15:04:05")))
	must(t, op.Locator("#history-find").Click())
	now, err := current.TextContent()
	must(t, err)
	must(t, h.Expect.Locator(op.Locator("#history-bookmark")).ToHaveValue(now))
	if now == twoMessages {
		t.Fatalf("the current bookmark after the undo is the one before the third message: %s", now)
	}

	// Delete the test room: bob's socket is closed with 4404.
	must(t, op.Locator("#search").Fill("test-room"))
	must(t, h.Expect.Locator(rows).ToHaveCount(1))
	must(t, h.Expect.Locator(rows.First().Locator("td").First()).ToHaveText("test-room-42"))
	must(t, rows.First().Click())
	must(t, h.Expect.Locator(op.Locator("#object-title")).ToHaveText("test-room-42"))
	must(t, h.Expect.Locator(op.Locator("#sockets tbody tr")).ToHaveCount(1))
	must(t, op.Locator("#delete").Click())
	must(t, h.Expect.Locator(op.Locator("#object")).ToBeHidden())
	deadline := time.Now().Add(10 * time.Second)
	for {
		codes, err := bob.Evaluate("window.__closes")
		if err != nil {
			t.Fatal(err)
		}
		if list, _ := codes.([]any); len(list) > 0 {
			if code, _ := list[0].(int); code != 4404 {
				t.Fatalf("bob's socket closed with %v, want 4404", list)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bob's socket was not closed by the delete")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// An object with more KV entries than a page: the inspector pages them (it showed
	// the first 100 only before, a gap of issue 18's first pass).
	resp, err := http.Get(h.URL("/parties/shelf/big"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("filling the shelf: %s", resp.Status)
	}
	if _, err := op.Locator("#namespace").SelectOption(playwright.SelectOptionValues{Values: &[]string{"shelf"}}); err != nil {
		t.Fatal(err)
	}
	must(t, op.Locator("#search").Fill("big"))
	must(t, h.Expect.Locator(rows).ToHaveCount(1))
	must(t, rows.First().Click())
	must(t, h.Expect.Locator(op.Locator("#object-title")).ToHaveText("big"))
	kvRows := op.Locator("#kv tbody tr")
	must(t, h.Expect.Locator(kvRows).ToHaveCount(100))
	must(t, op.Locator("#kv-more").Click())
	must(t, h.Expect.Locator(kvRows).ToHaveCount(shelfEntries))
	must(t, h.Expect.Locator(kvRows.Last().Locator("td").First()).ToHaveText(fmt.Sprintf("k%03d", shelfEntries-1)))
	must(t, h.Expect.Locator(op.Locator("#kv-more")).ToBeHidden())
}

// hostWithHistory is the chat's host with the history it keeps, closed after it.
type hostWithHistory struct {
	*server.Host
	hist *history.History
}

func (h hostWithHistory) Close() error {
	err := h.Host.Close()
	h.hist.Close()
	return err
}

// shelfEntries is how many KV entries a shelf object's HTTP handler puts.
const shelfEntries = 150

// shelf is a test object whose HTTP handler fills its KV store.
type shelf struct{ st *object.State }

func (s *shelf) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for i := range shelfEntries {
		if err := s.st.Storage().Put(fmt.Sprintf("k%03d", i), []byte("v")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
}

func mountShelf(rt *object.Runtime, s *server.Server) error {
	ns, err := object.Register(rt, "shelf", func(ctx context.Context, st *object.State) (*shelf, error) { return &shelf{st}, nil })
	if err != nil {
		return err
	}
	return s.Mount(ns)
}
