//go:build e2e

package main

import (
	"testing"
	"time"

	"github.com/mxschmitt/playwright-go"
	"github.com/warrenhq/warren/browsertest"
)

// touch sends one touch event to page p through the DevTools protocol (real
// touch input: Chromium turns it into the pointer events the page listens to).
func touch(t *testing.T, cdp playwright.CDPSession, kind string, x, y float64) {
	t.Helper()
	points := []map[string]any{{"x": x, "y": y, "id": 1}}
	if kind == "touchEnd" {
		points = []map[string]any{}
	}
	if _, err := cdp.Send("Input.dispatchTouchEvent", map[string]any{"type": kind, "touchPoints": points}); err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
}

// TestGlobePhoneTouch plays on a phone (390 × 844, touch): the globe is above
// the HUD, nothing scrolls sideways, and a finger dragged upwards on the globe
// steers north like a joystick (its knob shown while the finger is down);
// lifting the finger stops the dot.
func TestGlobePhoneTouch(t *testing.T) {
	h := browsertest.New(t, browsertest.Config{Timeout: 30 * time.Second})
	serve(h)
	p := h.NewUserWith("pat", browsertest.UserOptions{Width: 390, Height: 844, Touch: true})
	goTo(t, p, "/session/phone?renderer=2d&name=pat")
	must(t, h.Expect.Locator(p.Locator("#status")).ToHaveText("online"))
	must(t, h.Expect.Locator(p.Locator("#players-count")).ToHaveText("1 player"))
	must(t, h.Expect.Locator(p.Locator("#labels .tag.you")).ToHaveText("pat"+"you"))

	// The layout: the globe fills the width above the HUD; the Leave button is in reach.
	box := func(sel string) *playwright.Rect {
		b, err := p.Locator(sel).BoundingBox()
		if err != nil || b == nil {
			t.Fatalf("%s has no box: %v", sel, err)
		}
		return b
	}
	globe, hud := box("#globe"), box("#hud")
	if globe.Width < 300 || hud.Y < globe.Y+globe.Height-1 || hud.Y+hud.Height > 844+1 {
		t.Fatalf("phone layout: globe %+v, HUD %+v", *globe, *hud)
	}
	must(t, h.Expect.Locator(p.Locator("#leave")).ToBeInViewport())

	cdp, err := p.Context().NewCDPSession(p)
	if err != nil {
		t.Fatal(err)
	}
	lat0, _ := posOf(t, p, "pat")
	cx, cy := globe.X+globe.Width/2, globe.Y+globe.Height/2
	touch(t, cdp, "touchStart", cx, cy)
	for _, dy := range []float64{10, 30, 60} {
		touch(t, cdp, "touchMove", cx, cy-dy)
	}
	must(t, h.Expect.Locator(p.Locator("#stage .stick")).ToBeVisible())
	deadline := time.Now().Add(20 * time.Second)
	for {
		lat, _ := posOf(t, p, "pat")
		if lat-lat0 > 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dragging north moved pat from latitude %.2f to %.2f", lat0, lat)
		}
		eval(t, p, `new Promise((r) => setTimeout(r, 100))`) // one poll per 100 ms
	}
	touch(t, cdp, "touchEnd", 0, 0)
	must(t, h.Expect.Locator(p.Locator("#stage .stick")).ToBeHidden())
	// The dot stops: the same position over half a second (10 ticks), within the deadline.
	deadline = time.Now().Add(20 * time.Second)
	for {
		a, _ := posOf(t, p, "pat")
		eval(t, p, `new Promise((r) => setTimeout(r, 500))`)
		b, _ := posOf(t, p, "pat")
		if a == b {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pat keeps moving after the finger lifted: %.2f then %.2f", a, b)
		}
	}
}
