//go:build e2e

package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mxschmitt/playwright-go"

	"github.com/warrenhq/warren/browsertest"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Browser tests of the dashboard in Chromium. Run with `make e2e`.
// Every page is checked at 390, 768 and 1280 px, light and dark (browsertest.CheckViews);
// UPDATE_SCREENSHOT=1 also writes those views to docs/screenshots/ for the README.

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func serve(h *browsertest.Harness) *objecttest.Server {
	return h.Serve(func(dir string) (http.Handler, error) { return newApp(dir, Config{SelfEvery: 500 * time.Millisecond}) })
}

func postEvents(t *testing.T, h *browsertest.Harness, stream, body string) int {
	t.Helper()
	resp, err := http.Post(h.URL(objecttest.PartyPath("stream", stream)+"/events"), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func events(name string, n int, v float64) string {
	var b strings.Builder
	for range n {
		fmt.Fprintf(&b, "{\"name\":%q,\"value\":%g}\n", name, v)
	}
	return b.String()
}

func panel(p playwright.Page, series string) playwright.Locator {
	return p.Locator(fmt.Sprintf(`.panel[data-series=%q]`, series))
}

func TestLiveChartInTwoViewers(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 15 * time.Second})
	serve(h)
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	for _, p := range []playwright.Page{alice, bob} {
		_, err := p.Goto("/s/e2e?range=5m")
		must(t, err)
		must(t, h.Expect.Locator(p.Locator("#status")).ToHaveText("live"))
	}
	if c := postEvents(t, h, "e2e", events("checkout_ms", 3, 42)); c != http.StatusAccepted {
		t.Fatalf("POST: %d", c)
	}
	for _, p := range []playwright.Page{alice, bob} {
		must(t, h.Expect.Locator(panel(p, "checkout_ms").Locator(".total")).ToHaveText("3"))
		must(t, h.Expect.Locator(panel(p, "checkout_ms").Locator("canvas")).ToHaveCount(1))
	}
	must(t, h.Expect.Locator(panel(alice, "checkout_ms").Locator(".last")).ToHaveText("42"))
	// More events: both charts update live, without a reload.
	postEvents(t, h, "e2e", events("checkout_ms", 2, 42)+events("cart_size", 1, 7))
	for _, p := range []playwright.Page{alice, bob} {
		must(t, h.Expect.Locator(panel(p, "checkout_ms").Locator(".total")).ToHaveText("5"))
		must(t, h.Expect.Locator(panel(p, "cart_size").Locator(".last")).ToHaveText("7"))
	}
	// A late viewer gets the current window first.
	carol := h.NewUser("carol")
	_, err := carol.Goto("/s/e2e?range=15m")
	must(t, err)
	must(t, h.Expect.Locator(panel(carol, "checkout_ms").Locator(".total")).ToHaveText("5"))
	// Pause: the URL says so (shareable), and new events do not move the chart. Its
	// end is past every event already shown: the query's end is excluded, so a pause
	// at the second of the last events must end after that second (a shared view
	// once showed no data when the events and the pause fell in one second).
	shown := time.Now().Unix()
	must(t, carol.Locator("#live").Click())
	must(t, h.Expect.Locator(carol.Locator("#live")).ToHaveText("❚❚ paused"))
	if !strings.Contains(carol.URL(), "to=") || !strings.Contains(carol.URL(), "range=15m") {
		t.Errorf("paused URL %s", carol.URL())
	}
	u, err := url.Parse(carol.URL())
	must(t, err)
	to, err := strconv.ParseInt(u.Query().Get("to"), 10, 64)
	if err != nil || to <= shown {
		t.Fatalf("paused URL %s ends at %d (%v); want after %d, the second of the events shown", carol.URL(), to, err, shown)
	}
	must(t, h.Expect.Locator(panel(carol, "checkout_ms").Locator(".total")).ToHaveText("5"))
	// The window is whole seconds: an event of the pause's last second would be in
	// it. The next one is sent after that second.
	time.Sleep(time.Until(time.Unix(to, 0)))
	postEvents(t, h, "e2e", events("checkout_ms", 1, 42))
	must(t, h.Expect.Locator(panel(alice, "checkout_ms").Locator(".total")).ToHaveText("6"))
	must(t, h.Expect.Locator(panel(carol, "checkout_ms").Locator(".total")).ToHaveText("5"))
	// The shared URL opens the same paused view.
	dave := h.NewUser("dave")
	_, err = dave.Goto(strings.TrimPrefix(carol.URL(), h.URL("")))
	must(t, err)
	must(t, h.Expect.Locator(dave.Locator("#live")).ToHaveText("❚❚ paused"))
	must(t, h.Expect.Locator(panel(dave, "checkout_ms").Locator(".total")).ToHaveText("5"))
}

func TestRuntimeMetricsBoard(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 15 * time.Second})
	serve(h)
	p := h.NewUser("ops")
	_, err := p.Goto("/")
	must(t, err)
	must(t, h.Expect.Page(p).ToHaveURL(h.URL("/s/warren?range=5m")))
	for _, s := range []string{"objects", "sockets", "turns/s", "messages/s"} {
		must(t, h.Expect.Locator(panel(p, s).Locator("canvas")).ToHaveCount(1))
	}
	// The board's own socket shows up in its metrics.
	must(t, h.Expect.Locator(panel(p, "sockets").Locator(".last")).ToHaveText("1"))
	if os.Getenv(browsertest.ScreenshotsEnv) != "" {
		// For the README: a minute's range with some seconds of live data on it.
		must(t, p.Locator(`#ranges button[data-range="1m"]`).Click())
		must(t, h.Expect.Locator(panel(p, "objects")).ToHaveAttribute("data-points", regexp.MustCompile(`^([89]|\d\d+)$`), playwright.LocatorAssertionsToHaveAttributeOptions{Timeout: playwright.Float(20000)}))
	}
	// Phone and desktop, light and dark: nothing scrolls sideways, axe finds nothing serious.
	h.CheckViews(p, "board")
	// Range picker: 1h is still live.
	must(t, p.Locator(`#ranges button[data-range="1h"]`).Click())
	must(t, h.Expect.Page(p).ToHaveURL(h.URL("/s/warren?range=1h")))
	must(t, h.Expect.Locator(panel(p, "turns/s").Locator("canvas")).ToHaveCount(1))
	// 24h comes from range queries.
	must(t, p.Locator(`#ranges button[data-range="24h"]`).Click())
	must(t, h.Expect.Locator(panel(p, "objects").Locator(".res")).ToHaveText("1m"))
}

func TestBadPayloadShowsError(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 15 * time.Second})
	serve(h)
	viewer, sender := h.NewUser("viewer"), h.NewUser("sender")
	_, err := viewer.Goto("/s/bad")
	must(t, err)
	must(t, h.Expect.Locator(viewer.Locator("#status")).ToHaveText("live"))
	// Over HTTP from elsewhere: every viewer sees the rejection and why.
	if c := postEvents(t, h, "bad", "{\"name\":\"x\",\"value\":1}\n{\"name\":\"x\",\"value\":\"oops\"}\n"); c != http.StatusBadRequest {
		t.Fatalf("bad POST: %d", c)
	}
	must(t, h.Expect.Locator(viewer.Locator("#errors")).ToBeVisible())
	must(t, h.Expect.Locator(viewer.Locator("#errors .ingest-error").First()).ToContainText("batch rejected, nothing stored"))
	must(t, h.Expect.Locator(viewer.Locator("#errors .problems li").First()).ToHaveText(`line 2: "value" must be a number, not "oops"`))
	must(t, h.Expect.Locator(viewer.Locator(`.panel[data-series="x"]`)).ToHaveCount(0))
	// The error box over the empty board, with the form open, reads well on a phone and in the dark.
	must(t, h.Expect.Locator(viewer.Locator("#empty")).ToBeVisible())
	must(t, viewer.Locator("#send summary").Click())
	h.CheckViews(viewer, "errors", browsertest.Views[0], browsertest.Views[3])
	// From the page's own form: the response explains, and the viewer gets it too.
	_, err = sender.Goto("/s/bad")
	must(t, err)
	must(t, sender.Locator("#send summary").Click())
	must(t, sender.Locator("#payload").Fill(`[{"name":"x","value":1,"tags":{"bad key":"v"}}]`))
	must(t, sender.Locator("#send-btn").Click())
	must(t, h.Expect.Locator(sender.Locator("#send-result")).ToContainText("400: batch rejected"))
	must(t, h.Expect.Locator(sender.Locator("#send-result")).ToContainText(`tag key "bad key"`))
	must(t, h.Expect.Locator(viewer.Locator("#errors .ingest-error")).ToHaveCount(2))
	// A good batch from the form charts.
	must(t, sender.Locator("#payload").Fill(`{"name":"x","value":5}`))
	must(t, sender.Locator("#send-btn").Click())
	must(t, h.Expect.Locator(sender.Locator("#send-result")).ToHaveText("202: accepted 1 events"))
	must(t, h.Expect.Locator(panel(viewer, "x").Locator(".last")).ToHaveText("5"))
	// Dismiss hides the list.
	must(t, viewer.Locator("#dismiss").Click())
	must(t, h.Expect.Locator(viewer.Locator("#errors")).ToBeHidden())
}

// The stats line's "events/s" is the recent rate and names its window, not the
// average over the whole range shown: 100 events 5 minutes ago and 30 in the
// last seconds read as 3 events/s over the last 10 s, not (130 events / 900 s) 0.144.
// Before, the board showed the range average and no window.
func TestEventsPerSecondIsTheRecentRate(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 15 * time.Second})
	serve(h)
	p := h.NewUser("viewer")
	_, err := p.Goto("/s/rate?range=15m")
	must(t, err)
	must(t, h.Expect.Locator(p.Locator("#status")).ToHaveText("live"))
	now := time.Now()
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "{\"name\":\"orders\",\"value\":1,\"ts\":%d}\n", now.Add(-5*time.Minute+time.Duration(i)*time.Millisecond).UnixMilli())
	}
	// 30 events spread over the 5 whole seconds before the next second starts.
	sec := now.Truncate(time.Second)
	for i := range 30 {
		fmt.Fprintf(&b, "{\"name\":\"orders\",\"value\":1,\"ts\":%d}\n", sec.Add(-time.Duration(i%5+1)*time.Second).UnixMilli())
	}
	if c := postEvents(t, h, "rate", b.String()); c != http.StatusAccepted {
		t.Fatalf("POST: %d", c)
	}
	stats := panel(p, "orders").Locator(".stats")
	must(t, h.Expect.Locator(stats.Locator(".total")).ToHaveText("130"))
	must(t, h.Expect.Locator(stats).ToContainText("events/s (last 10 s)"))
	must(t, h.Expect.Locator(stats.Locator(".rate")).ToHaveText("3"))
}

// The theme toggle of the shared header: it follows the system until pressed,
// the choice survives a reload and reaches the charts, and choosing what the
// system prefers again clears it.
func TestThemeToggle(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 15 * time.Second})
	serve(h)
	p := h.NewUser("viewer") // the light scheme
	_, err := p.Goto("/s/theme")
	must(t, err)
	root := p.Locator("html")
	toggle := p.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Switch to the dark theme"})
	must(t, h.Expect.Locator(root).Not().ToHaveAttribute("data-theme", regexp.MustCompile(".")))
	must(t, toggle.Focus())
	must(t, p.Keyboard().Press("Enter")) // keyboard works
	must(t, h.Expect.Locator(root).ToHaveAttribute("data-theme", "dark"))
	bg := func() string {
		v, err := p.Evaluate(`() => getComputedStyle(document.body).backgroundColor`)
		must(t, err)
		return fmt.Sprint(v)
	}
	if got := bg(); got != "rgb(14, 16, 22)" {
		t.Errorf("dark body background = %s", got)
	}
	_, err = p.Reload()
	must(t, err)
	must(t, h.Expect.Locator(root).ToHaveAttribute("data-theme", "dark"))
	must(t, p.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Switch to the light theme"}).Click())
	must(t, h.Expect.Locator(root).Not().ToHaveAttribute("data-theme", regexp.MustCompile(".")))
	if v, _ := p.Evaluate(`() => localStorage.getItem("warren-theme")`); v != nil {
		t.Errorf("stored theme %v after choosing the system's, want none", v)
	}
}
