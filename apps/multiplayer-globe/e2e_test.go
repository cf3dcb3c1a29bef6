//go:build e2e

package main

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/mxschmitt/playwright-go"

	"github.com/warrenhq/warren/browsertest"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Browser tests of the game, two or three players in Chromium. Run with `make e2e`.
// Every page (start, session, the template's room) is checked at 390, 768 and
// 1280 px, light and dark (browsertest.CheckViews: no horizontal scroll, no
// serious axe-core violation); UPDATE_SCREENSHOT=1 also writes those views to
// docs/screenshots/ for the READMEs. Waits are on conditions (web-first
// assertions, polls with a deadline): under load they take longer, not fail.

// darkShots are the views every page is checked at; the globe has one theme,
// dark (the page pins it), so only the dark views are the README's screenshots.
var darkShots = func() []browsertest.View {
	vs := append([]browsertest.View(nil), browsertest.Views...)
	for i := range vs {
		vs[i].NoScreenshot = vs[i].NoScreenshot || vs[i].ColorScheme != "dark"
	}
	return vs
}()

// noShots are the views every page is checked at, none of them a screenshot.
var noShots = func() []browsertest.View {
	vs := append([]browsertest.View(nil), browsertest.Views...)
	for i := range vs {
		vs[i].NoScreenshot = true
	}
	return vs
}()

// view is the named one of browsertest.Views.
func view(name string) browsertest.View {
	for _, v := range browsertest.Views {
		if v.Name == name {
			return v
		}
	}
	panic("no view " + name)
}

func serve(h *browsertest.Harness) *objecttest.Server {
	return h.Serve(func(dir string) (http.Handler, error) { return newApp(dir, Options{}) })
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func goTo(t *testing.T, p playwright.Page, path string) {
	t.Helper()
	if _, err := p.Goto(path); err != nil {
		t.Fatal(err)
	}
}

// eval runs a JavaScript expression on p and returns its value.
func eval(t *testing.T, p playwright.Page, js string) any {
	t.Helper()
	v, err := p.Evaluate(js)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// posOf is the position at which page p currently shows the player called name.
func posOf(t *testing.T, p playwright.Page, name string) (float64, float64) {
	t.Helper()
	v := eval(t, p, fmt.Sprintf(`(() => { const q = [...globe.players.values()].find(p => p.name === %q); return q ? [q.lat, q.lng] : null })()`, name))
	a, ok := v.([]any)
	if !ok || len(a) != 2 {
		t.Fatalf("%s not on the page: %v", name, v)
	}
	return toF(a[0]), toF(a[1])
}

func toF(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	}
	return 0
}

// seekItems makes the page steer its player toward the nearest collectible, as a
// player would with the keyboard.
const seekItems = `setInterval(() => {
  const me = globe.players.get(globe.you); if (!me) return;
  let best = null, bd = 1e9;
  for (const it of globe.items.values()) {
    const d = Math.hypot(it.lat - me.lat, ((it.lng - me.lng + 540) % 360) - 180);
    if (d < bd) { bd = d; best = it; }
  }
  if (best) globe.steer(` + bearingJS + `(me, best), true);
}, 100)`

// seekPlayer makes the page steer its player toward the player called %q
// until within 20° of them (their labels apart), and stop there.
const seekPlayer = `setInterval(() => {
  const me = globe.players.get(globe.you), to = [...globe.players.values()].find((q) => q.name === %q);
  if (!me || !to) return;
  const near = Math.hypot(to.lat - me.lat, ((to.lng - me.lng + 540) %% 360) - 180) < 20;
  globe.steer(near ? 0 : ` + bearingJS + `(me, to), !near);
}, 100)`

// bearingJS is a JavaScript function of two points {lat, lng}: the initial
// great-circle heading from the first to the second, in degrees.
const bearingJS = `((a, b) => {
  const r = Math.PI / 180, φ1 = a.lat * r, φ2 = b.lat * r, dλ = (b.lng - a.lng) * r;
  return Math.atan2(Math.sin(dλ) * Math.cos(φ2), Math.cos(φ1) * Math.sin(φ2) - Math.sin(φ1) * Math.cos(φ2) * Math.cos(dλ)) / r;
})`

// otherTag is the label of another player than the page's own.
func otherTag(p playwright.Page) playwright.Locator { return p.Locator("#labels .tag:not(.you)") }

func TestGlobeTwoPlayers(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 30 * time.Second})
	srv := serve(h)
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	goTo(t, alice, "/session/e2e?renderer=2d&name=alice")
	goTo(t, bob, "/session/e2e?renderer=2d&name=bob")
	for _, p := range []playwright.Page{alice, bob} {
		must(t, h.Expect.Locator(p.Locator("#status")).ToHaveText("online"))
		must(t, h.Expect.Locator(p.Locator("#players-count")).ToHaveText("2 players"))
		must(t, h.Expect.Locator(p.Locator("#session-name")).ToHaveText("e2e"))
	}

	// Names next to the players on the globe; your own dot is ringed and says "you".
	must(t, h.Expect.Locator(alice.Locator("#labels .tag.you")).ToHaveText("alice"+"you"))
	must(t, h.Expect.Locator(otherTag(alice)).ToHaveText("bob"))
	expectLabelBeside(t, alice, "alice", cyan, true, 20*time.Second)
	expectLabelBeside(t, alice, "bob", red, false, 20*time.Second)

	// Bob holds the right arrow key until Alice sees him well east of where he was.
	lat0, lng0 := posOf(t, alice, "bob")
	must(t, bob.Keyboard().Down("ArrowRight"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		lat, lng := posOf(t, alice, "bob")
		if lng-lng0 > 5 && abs(lat-lat0) < 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice sees bob at %v,%v, started at %v,%v", lat, lng, lat0, lng0)
		}
		eval(t, alice, `new Promise((r) => setTimeout(r, 100))`) // one poll per 100 ms
	}
	must(t, bob.Keyboard().Up("ArrowRight"))
	// Bob's page draws him where Alice's does, once both have his last tick.
	deadline = time.Now().Add(10 * time.Second)
	for {
		bl, bg := posOf(t, bob, "bob")
		al, ag := posOf(t, alice, "bob")
		if abs(bl-al) <= 0.5 && abs(bg-ag) <= 0.5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob at %v,%v on his page, %v,%v on alice's", bl, bg, al, ag)
		}
		eval(t, alice, `new Promise((r) => setTimeout(r, 100))`)
	}

	// Alice collects: her score rises, and the all-time leaderboard shows her, marked as her.
	eval(t, alice, seekItems)
	must(t, h.Expect.Locator(alice.Locator("#you-score")).Not().ToHaveText("0"))
	must(t, h.Expect.Locator(bob.Locator("#roster li").First()).ToContainText("alice"))
	must(t, h.Expect.Locator(alice.Locator("#leaderboard li.you").First()).ToContainText("alice"))
	must(t, h.Expect.Locator(bob.Locator("#leaderboard li").First()).ToContainText("alice"))
	must(t, h.Expect.Locator(bob.Locator("#leaderboard li.you")).ToHaveCount(0))
	// A session with scores on both boards, at every view (the 2D globe: the
	// WebGL one's screenshots are TestGlobeWebGL's).
	h.CheckViews(alice, "session", noShots...)

	// Bob leaves with the keyboard: Leave asks first (a dialog, not confirm());
	// Escape cancels and gives the focus back, Enter confirms.
	must(t, bob.Locator("#leave").Focus())
	must(t, bob.Keyboard().Press("Enter"))
	dialog := bob.Locator("#leave-dialog")
	must(t, h.Expect.Locator(dialog).ToBeVisible())
	must(t, bob.Keyboard().Press("Escape"))
	must(t, h.Expect.Locator(dialog).ToHaveCount(0))
	must(t, h.Expect.Locator(bob.Locator("#leave")).ToBeFocused())
	must(t, h.Expect.Locator(alice.Locator("#players-count")).ToHaveText("2 players"))
	must(t, bob.Keyboard().Press("Enter"))
	must(t, h.Expect.Locator(dialog.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Leave"})).ToBeFocused())
	must(t, bob.Keyboard().Press("Enter"))
	must(t, h.Expect.Locator(bob.Locator(".toast")).ToContainText("You left e2e."))
	must(t, h.Expect.Locator(bob.Locator("#start")).ToBeVisible())
	must(t, h.Expect.Locator(bob.Locator("#play")).ToBeFocused())
	must(t, h.Expect.Page(bob).ToHaveURL(srv.URL+"/"))
	// His dot and his label go away on Alice's page; the count is singular.
	must(t, h.Expect.Locator(alice.Locator("#players-count")).ToHaveText("1 player"))
	must(t, h.Expect.Locator(otherTag(alice)).ToHaveCount(0))

	// The leaderboard survives a restart of the server.
	srv.Restart()
	carol := h.NewUser("carol")
	goTo(t, carol, "/session/after-restart?renderer=2d&name=carol")
	must(t, h.Expect.Locator(carol.Locator("#status")).ToHaveText("online"))
	must(t, h.Expect.Locator(carol.Locator("#leaderboard li").First()).ToContainText("alice"))
	// Alice's page reconnects by itself (partysocket) and plays on.
	must(t, h.Expect.Locator(alice.Locator("#status")).ToHaveText("online"))
}

func TestGlobeSpectatorAndLobby(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 30 * time.Second})
	serve(h)
	dave, eve := h.NewUser("dave"), h.NewUser("eve")
	goTo(t, dave, "/?renderer=2d")
	must(t, h.Expect.Locator(dave.Locator("#start")).ToBeVisible())
	h.CheckViews(dave, "start", noShots...) // its screenshots: TestGlobeWebGL

	// Play with the keyboard: type a (hostile) name, Enter.
	must(t, dave.Locator("#name").Fill("<img src=x onerror=alert(1)>dave"))
	must(t, dave.Locator("#name").Press("Enter"))
	must(t, h.Expect.Locator(dave.Locator("#status")).ToHaveText("online"))
	must(t, h.Expect.Locator(dave.Locator("#session-name")).ToHaveText("s-1"))
	// The hostile name is shown as text, stripped of markup characters, in the roster and on the globe.
	must(t, h.Expect.Locator(dave.Locator("#roster li").First()).ToContainText("img src=x onerror=a"))
	must(t, h.Expect.Locator(dave.Locator("#labels .tag.you")).ToContainText("img src=x onerror=a"))
	must(t, h.Expect.Locator(dave.Locator("#hud img, #labels img")).ToHaveCount(0))
	// Empty states and plurals on a fresh server.
	must(t, h.Expect.Locator(dave.Locator("#leaderboard-empty")).ToHaveText("No scores yet: collect a point to be the first."))
	must(t, h.Expect.Locator(dave.Locator("#leaderboard li")).ToHaveCount(0))
	must(t, h.Expect.Locator(dave.Locator("#players-count")).ToHaveText("1 player"))
	must(t, h.Expect.Locator(dave.Locator("#spectators")).ToHaveText("0 spectators"))

	// Eve watches: her page says so, Dave's counts her.
	goTo(t, eve, "/?renderer=2d")
	must(t, eve.Locator("#watch").Click())
	must(t, h.Expect.Locator(eve.Locator("#role")).ToHaveText("watching"))
	must(t, h.Expect.Locator(eve.Locator("#role")).ToBeVisible())
	must(t, h.Expect.Locator(eve.Locator("#session-name")).ToHaveText("s-1"))
	must(t, h.Expect.Locator(eve.Locator("#players-count")).ToHaveText("1 player"))
	must(t, h.Expect.Locator(eve.Locator("#spectators")).ToHaveText("1 spectator, you among them"))
	must(t, h.Expect.Locator(dave.Locator("#spectators")).ToHaveText("1 spectator"))
	must(t, h.Expect.Locator(eve.Locator("#latency")).ToContainText("ms"))
	must(t, h.Expect.Locator(eve.Locator("#you-score")).Not().ToBeVisible())
	// A spectator sees the players' names on the globe, and has no dot of their own.
	must(t, h.Expect.Locator(otherTag(eve)).ToContainText("img src=x onerror=a"))
	must(t, h.Expect.Locator(eve.Locator("#labels .tag.you")).ToHaveCount(0))
	// A spectator leaves at once: nothing to lose, no question.
	must(t, eve.Locator("#leave").Click())
	must(t, h.Expect.Locator(eve.Locator("#start")).ToBeVisible())
	must(t, h.Expect.Locator(dave.Locator("#spectators")).ToHaveText("0 spectators"))

	// A session nobody plays in says so.
	goTo(t, eve, "/session/empty?renderer=2d&spectate=1")
	must(t, h.Expect.Locator(eve.Locator("#roster-empty")).ToHaveText("Nobody is playing right now."))
	must(t, h.Expect.Locator(eve.Locator("#players-count")).ToHaveText("0 players"))
}

// TestGlobeTakenOverStops pins a defect of the page: one connection id is one
// player, and a second socket with it takes the player over, closing the first
// with 4409; the page reconnected after any close, so it took the player back,
// and was taken over again, for as long as both ran. Now it says so and stops.
func TestGlobeTakenOverStops(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 30 * time.Second})
	srv := serve(h)
	p := h.NewUser("ann")
	goTo(t, p, "/session/takeover?renderer=2d&name=ann")
	must(t, h.Expect.Locator(p.Locator("#status")).ToHaveText("online"))
	id := fmt.Sprint(eval(t, p, `globe.id`))
	token := fmt.Sprint(eval(t, p, `localStorage.getItem("globe-token")`))
	q := url.Values{"_pk": {id}, "token": {token}, "name": {"ann"}}
	c := dial(t, srv.Addr, "/parties/globe/takeover?"+q.Encode())
	c.next("welcome", ofType("welcome"))

	must(t, h.Expect.Locator(p.Locator(".toast")).ToContainText("continues in another tab"))
	must(t, h.Expect.Locator(p.Locator("#start")).ToBeVisible())
	must(t, h.Expect.Locator(p.Locator("#status")).ToHaveText(""))
	// And it stays stopped: the other connection keeps the player through the
	// window in which partysocket would have reconnected (at once after 5 s
	// up, else after 3 s): 80 ticks, 4 s.
	for range 80 {
		c.next("tick", ofType("tick"))
	}
}

func TestTemplateRoomInBrowser(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 30 * time.Second})
	serve(h)
	a, b := h.NewUser("a"), h.NewUser("b")
	goTo(t, a, "/default?renderer=2d")
	must(t, h.Expect.Locator(a.Locator("#visitors")).ToHaveText("1 person connected"))
	goTo(t, b, "/default?renderer=2d&lat=51.5&lng=-0.1")
	must(t, h.Expect.Locator(a.Locator("#visitors")).ToHaveText("2 people connected"))
	must(t, h.Expect.Locator(b.Locator("#visitors")).ToHaveText("2 people connected"))
	// Each page knows its own marker by its connection id (?_pk=), and marks it.
	if v := eval(t, b, `globe.visitors.has(globe.id)`); v != true {
		t.Fatalf("b's own marker missing: %v", v)
	}
	must(t, h.Expect.Locator(b.Locator("#labels .tag.you")).ToHaveText("you"))
	must(t, h.Expect.Locator(b.Locator("#labels .tag")).ToHaveCount(1))
	h.CheckViews(b, "template", darkShots...)
	must(t, b.Close())
	must(t, h.Expect.Locator(a.Locator("#visitors")).ToHaveText("1 person connected"))
}

// TestGlobeWebGL checks cobe's WebGL globe (SwiftShader in headless Chromium)
// by reading back the canvas: it draws the land and both players' markers,
// alice's cyan dot where the camera centres (on her), bob's red one (the server
// starts a player within SpawnNear of another), and the name labels sit next
// to the dots cobe drew: the labels' projection matches cobe's. Then the
// README's screenshots of a session (UPDATE_SCREENSHOT=1) are taken of the
// WebGL globe, at the dark phone and desktop views. SwiftShader's cost grows
// with the canvas's pixels: the pixels are read at 800 × 600.
func TestGlobeWebGL(t *testing.T) {
	// SwiftShader draws a few frames a second on a busy machine: generous
	// deadlines, which only a failure waits out.
	h := browsertest.New(t, browsertest.Config{Timeout: 60 * time.Second})
	serve(h)
	alice, bob := h.NewUserWith("alice", browsertest.UserOptions{Width: 800, Height: 600}), h.NewUser("bob")
	goTo(t, alice, "/session/webgl?name=alice")
	goTo(t, bob, "/session/webgl?renderer=2d&name=bob")
	must(t, h.Expect.Locator(alice.Locator("#globe")).ToHaveAttribute("data-renderer", "webgl"))
	must(t, h.Expect.Locator(alice.Locator("#players-count")).ToHaveText("2 players"))

	var c canvasCount
	deadline := time.Now().Add(60 * time.Second)
	for {
		img, _, _ := overlay(t, alice, 0)
		if c = countCanvas(img); c.land > 200 && c.centerCyan > 20 && c.red > 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("WebGL globe did not draw: %+v", c)
		}
	}
	t.Logf("WebGL canvas: %+v", c)
	expectLabelBeside(t, alice, "alice", cyan, true, 60*time.Second)
	expectLabelBeside(t, alice, "bob", red, false, 60*time.Second)

	// Bob collects, so the HUD shows a score and the all-time leaderboard.
	seeking := eval(t, bob, seekItems)
	must(t, h.Expect.Locator(alice.Locator("#leaderboard li").First()).ToContainText("bob"))
	// Then he comes back to alice, so that the screenshots show both names.
	eval(t, bob, fmt.Sprintf("clearInterval(%v)", seeking))
	eval(t, bob, fmt.Sprintf(seekPlayer, "alice"))
	deadline = time.Now().Add(60 * time.Second)
	for {
		al, ag := posOf(t, alice, "alice")
		bl, bg := posOf(t, alice, "bob")
		if abs(al-bl) < 24 && abs(math.Mod(ag-bg+540, 360)-180) < 24 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob at %v,%v never came back to alice at %v,%v", bl, bg, al, ag)
		}
		eval(t, alice, `new Promise((r) => setTimeout(r, 100))`)
	}
	h.CheckViews(alice, "session", view("phone-dark"), view("desktop-dark"))

	if os.Getenv(browsertest.ScreenshotsEnv) != "" {
		// The start page's screenshots, over the WebGL globe once it shows
		// the land (TestGlobeSpectatorAndLobby checks the page).
		carol := h.NewUser("carol")
		goTo(t, carol, "/")
		must(t, h.Expect.Locator(carol.Locator("#globe")).ToHaveAttribute("data-renderer", "webgl"))
		deadline := time.Now().Add(60 * time.Second)
		for {
			img, _, _ := overlay(t, carol, 0)
			if c = countCanvas(img); c.land > 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("WebGL globe on the start page did not draw: %+v", c)
			}
		}
		h.CheckViews(carol, "start", view("phone-dark"), view("desktop-dark"))
	}
}
