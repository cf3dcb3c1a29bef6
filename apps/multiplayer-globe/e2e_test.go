//go:build e2e

package main

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/mxschmitt/playwright-go"

	"github.com/warrenhq/warren/browsertest"
)

// Browser tests of the game, two or three players in Chromium. Run with `make e2e`.
// UPDATE_SCREENSHOT=1 also writes docs/screenshot.png for the README.

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func goTo(t *testing.T, h *browsertest.Harness, p playwright.Page, path string) {
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
  if (!best) return;
  const r = Math.PI / 180, φ1 = me.lat * r, φ2 = best.lat * r, dλ = (best.lng - me.lng) * r;
  const h = Math.atan2(Math.sin(dλ) * Math.cos(φ2), Math.cos(φ1) * Math.sin(φ2) - Math.sin(φ1) * Math.cos(φ2) * Math.cos(dλ)) / r;
  globe.steer(h, true);
}, 100)`

func TestGlobeTwoPlayers(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 30 * time.Second})
	srv := h.Serve(func(dir string) (http.Handler, error) { return newApp(dir, Options{}) })
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	goTo(t, h, alice, "/session/e2e?renderer=2d&name=alice")
	goTo(t, h, bob, "/session/e2e?renderer=2d&name=bob")
	for _, p := range []playwright.Page{alice, bob} {
		must(t, h.Expect.Locator(p.Locator("#status")).ToHaveText("online"))
		must(t, h.Expect.Locator(p.Locator("#players-count")).ToHaveText("2"))
		must(t, h.Expect.Locator(p.Locator("#session-name")).ToHaveText("e2e"))
	}
	t.Logf("renderer: %v", eval(t, alice, `document.getElementById("globe").dataset.renderer`))

	// Bob steers east with the keyboard; Alice sees him move.
	lat0, lng0 := posOf(t, alice, "bob")
	must(t, bob.Keyboard().Down("ArrowRight"))
	time.Sleep(1500 * time.Millisecond)
	must(t, bob.Keyboard().Up("ArrowRight"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		lat, lng := posOf(t, alice, "bob")
		if lng-lng0 > 5 && abs(lat-lat0) < 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice sees bob at %v,%v, started at %v,%v", lat, lng, lat0, lng0)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// And Bob sees his own dot where Alice sees it.
	bl, bg := posOf(t, bob, "bob")
	al, ag := posOf(t, alice, "bob")
	if abs(bl-al) > 0.5 || abs(bg-ag) > 0.5 {
		t.Fatalf("bob at %v,%v on his page, %v,%v on alice's", bl, bg, al, ag)
	}

	// Alice collects: her score rises, and the all-time leaderboard shows her.
	eval(t, alice, seekItems)
	must(t, h.Expect.Locator(alice.Locator("#you-score")).Not().ToHaveText("0"))
	must(t, h.Expect.Locator(bob.Locator("#roster li").First()).ToContainText("alice"))
	must(t, h.Expect.Locator(alice.Locator("#leaderboard li").First()).ToContainText("alice"))
	must(t, h.Expect.Locator(bob.Locator("#leaderboard li").First()).ToContainText("alice"))

	// Bob leaves: his marker goes away on Alice's page.
	must(t, bob.Close())
	must(t, h.Expect.Locator(alice.Locator("#players-count")).ToHaveText("1"))

	// The leaderboard survives a restart of the server.
	srv.Restart()
	carol := h.NewUser("carol")
	goTo(t, h, carol, "/session/after-restart?renderer=2d&name=carol")
	must(t, h.Expect.Locator(carol.Locator("#status")).ToHaveText("online"))
	must(t, h.Expect.Locator(carol.Locator("#leaderboard li").First()).ToContainText("alice"))
	// Alice's page reconnects by itself (partysocket) and plays on.
	must(t, h.Expect.Locator(alice.Locator("#status")).ToHaveText("online"))
}

func TestGlobeSpectatorAndLobby(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 20 * time.Second})
	h.Serve(func(dir string) (http.Handler, error) { return newApp(dir, Options{}) })
	dave, eve := h.NewUser("dave"), h.NewUser("eve")
	goTo(t, h, dave, "/?renderer=2d")
	must(t, dave.Locator("#name").Fill("<img src=x onerror=alert(1)>dave"))
	must(t, dave.Locator("#play").Click())
	must(t, h.Expect.Locator(dave.Locator("#status")).ToHaveText("online"))
	must(t, h.Expect.Locator(dave.Locator("#session-name")).ToHaveText("s-1"))
	// The hostile name is shown as text, stripped of markup characters.
	must(t, h.Expect.Locator(dave.Locator("#roster li").First()).ToContainText("img src=x onerror=a"))
	must(t, h.Expect.Locator(dave.Locator("#roster img")).ToHaveCount(0))
	goTo(t, h, eve, "/?renderer=2d")
	must(t, eve.Locator("#watch").Click())
	must(t, h.Expect.Locator(eve.Locator("#role")).ToHaveText("(watching)"))
	must(t, h.Expect.Locator(eve.Locator("#session-name")).ToHaveText("s-1"))
	must(t, h.Expect.Locator(eve.Locator("#players-count")).ToHaveText("1"))
	must(t, h.Expect.Locator(dave.Locator("#spectators")).ToHaveText("1"))
	must(t, h.Expect.Locator(eve.Locator("#latency")).ToContainText("ms"))
}

func TestTemplateRoomInBrowser(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 20 * time.Second})
	h.Serve(func(dir string) (http.Handler, error) { return newApp(dir, Options{}) })
	a, b := h.NewUser("a"), h.NewUser("b")
	goTo(t, h, a, "/default")
	must(t, h.Expect.Locator(a.Locator("#visitors")).ToHaveText("1"))
	goTo(t, h, b, "/default?lat=51.5&lng=-0.1")
	must(t, h.Expect.Locator(a.Locator("#visitors")).ToHaveText("2"))
	must(t, h.Expect.Locator(b.Locator("#visitors")).ToHaveText("2"))
	// Each page knows its own marker by its partysocket id (?_pk=).
	if v := eval(t, b, `globe.visitors.has(globe.id)`); v != true {
		t.Fatalf("b's own marker missing: %v", v)
	}
	if os.Getenv("UPDATE_SCREENSHOT") != "" {
		time.Sleep(3 * time.Second)
		if _, err := b.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String("docs/template-webgl.png"), Timeout: playwright.Float(30000)}); err != nil {
			t.Fatal(err)
		}
	}
	must(t, b.Close())
	must(t, h.Expect.Locator(a.Locator("#visitors")).ToHaveText("1"))
}

// TestGlobeWebGL checks that cobe's WebGL globe (SwiftShader in headless
// Chromium) draws the land and both players' markers, by reading back the
// canvas: alice's cyan dot where the camera centers (on her), bob's red one
// (the server starts a player within SpawnNear of another). UPDATE_SCREENSHOT=1
// writes the README's screenshot from it.
func TestGlobeWebGL(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 30 * time.Second})
	h.Serve(func(dir string) (http.Handler, error) { return newApp(dir, Options{}) })
	alice, bob := h.NewUser("alice"), h.NewUser("bob")
	goTo(t, h, alice, "/session/webgl?name=alice")
	goTo(t, h, bob, "/session/webgl?renderer=2d&name=bob")
	must(t, h.Expect.Locator(alice.Locator("#globe")).ToHaveAttribute("data-renderer", "webgl"))
	must(t, h.Expect.Locator(alice.Locator("#players-count")).ToHaveText("2"))

	var c canvasCount
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := alice.Locator("#globe").Screenshot()
		if err != nil {
			t.Fatal(err)
		}
		c = countCanvas(t, b)
		if c.land > 200 && c.centerCyan > 20 && c.red > 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("WebGL globe did not draw: %+v", c)
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Logf("WebGL canvas: %+v", c)

	if os.Getenv("UPDATE_SCREENSHOT") != "" {
		// Bob collects, so the HUD shows a score and the all-time leaderboard.
		eval(t, bob, seekItems)
		must(t, h.Expect.Locator(alice.Locator("#leaderboard li").First()).ToContainText("bob"))
		time.Sleep(2 * time.Second)
		if _, err := alice.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String("docs/screenshot.png")}); err != nil {
			t.Fatal(err)
		}
	}
}

// canvasCount counts pixels of a screenshot of the globe's canvas: land dots
// (light gray), alice's marker (cyan, palette 0) within 8% of the center, and
// bob's (red, palette 1) anywhere.
type canvasCount struct{ land, centerCyan, red int }

func countCanvas(t *testing.T, b []byte) canvasCount {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r := img.Bounds()
	cx, cy, near := (r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2, r.Dx()*8/100
	var c canvasCount
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			R, G, B := rgb8(img, x, y)
			switch {
			case R > 120 && G > 120 && B > 120 && abs(float64(R-B)) < 30 && abs(float64(R-G)) < 30:
				c.land++
			case B > 150 && G > 120 && R < 140 && B-R > 60:
				if abs(float64(x-cx)) < float64(near) && abs(float64(y-cy)) < float64(near) {
					c.centerCyan++
				}
			case R > 150 && G < 130 && B < 130 && R-G > 60:
				c.red++
			}
		}
	}
	return c
}

func rgb8(img image.Image, x, y int) (int, int, int) {
	r, g, b, _ := img.At(x, y).RGBA()
	return int(r >> 8), int(g >> 8), int(b >> 8)
}
