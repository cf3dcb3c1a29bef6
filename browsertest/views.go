package browsertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mxschmitt/playwright-go"
)

// View is a screen a page is checked at: a viewport and a colour scheme.
type View struct {
	// Name names the screenshot: docs/screenshots/<page>-<Name>.png.
	Name          string
	Width, Height int
	// ColorScheme is what prefers-color-scheme reports: "light" or "dark".
	ColorScheme string
	// NoScreenshot leaves the view out of the README's screenshots.
	NoScreenshot bool
}

// Views are the screens every app is held to: a phone (390 px wide) and a
// desktop (1280 px), each in the light and the dark scheme, and a tablet
// (768 px, light; checked, not shot for the READMEs).
var Views = []View{
	{Name: "phone-light", Width: 390, Height: 844, ColorScheme: "light"},
	{Name: "phone-dark", Width: 390, Height: 844, ColorScheme: "dark"},
	{Name: "desktop-light", Width: 1280, Height: 800, ColorScheme: "light"},
	{Name: "desktop-dark", Width: 1280, Height: 800, ColorScheme: "dark"},
	{Name: "tablet-light", Width: 768, Height: 1024, ColorScheme: "light", NoScreenshot: true},
}

// ScreenshotsEnv names the environment variable that makes [Harness.CheckViews]
// write screenshots (for the apps' READMEs): UPDATE_SCREENSHOT=1.
const ScreenshotsEnv = "UPDATE_SCREENSHOT"

// CheckViews shows page at every view (all of [Views] when none is given) and
// at each one fails the test unless the page has no horizontal overflow
// ([Harness.ExpectNoHorizontalOverflow]) and no serious or critical
// accessibility violation ([Harness.ExpectAccessible]). Animations are off
// (prefers-reduced-motion), so colours are measured as they settle. When
// UPDATE_SCREENSHOT is set it also saves each view as <name>-<view>.png in
// Config.ScreenshotsDir (default docs/screenshots, in the app's directory).
// Afterwards the page is back at its first viewport, in the
// light scheme.
func (h *Harness) CheckViews(page playwright.Page, name string, views ...View) {
	h.t.Helper()
	if len(views) == 0 {
		views = Views
	}
	orig := page.ViewportSize()
	defer func() {
		if orig != nil {
			page.SetViewportSize(orig.Width, orig.Height)
		}
		page.EmulateMedia(playwright.PageEmulateMediaOptions{ColorScheme: playwright.ColorSchemeLight})
	}()
	shots := os.Getenv(ScreenshotsEnv) != ""
	for _, v := range views {
		h.ShowView(page, v)
		where := fmt.Sprintf("%s at %s", name, v.Name)
		h.ExpectNoHorizontalOverflow(page, where)
		h.ExpectAccessible(page, where)
		if shots && !v.NoScreenshot {
			dir := h.cfg.ScreenshotsDir
			if dir == "" {
				dir = filepath.Join("docs", "screenshots")
			}
			path := filepath.Join(dir, fileName(name)+"-"+fileName(v.Name)+".png")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				h.t.Fatalf("browsertest: %v", err)
			}
			if _, err := page.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String(path), Animations: playwright.ScreenshotAnimationsDisabled}); err != nil {
				h.t.Fatalf("browsertest: screenshot %s: %v", path, err)
			}
			h.t.Logf("browsertest: wrote %s", path)
		}
	}
}

// ShowView resizes page to v, emulates its colour scheme and reduced motion,
// and waits until the page has laid itself out again (two animation frames).
func (h *Harness) ShowView(page playwright.Page, v View) {
	h.t.Helper()
	scheme := playwright.ColorSchemeLight
	if v.ColorScheme == "dark" {
		scheme = playwright.ColorSchemeDark
	}
	if err := page.SetViewportSize(v.Width, v.Height); err != nil {
		h.t.Fatalf("browsertest: viewport %dx%d: %v", v.Width, v.Height, err)
	}
	if err := page.EmulateMedia(playwright.PageEmulateMediaOptions{ColorScheme: scheme, ReducedMotion: playwright.ReducedMotionReduce}); err != nil {
		h.t.Fatalf("browsertest: emulate %s: %v", v.ColorScheme, err)
	}
	// The page sees the new size and scheme (polled), then has two frames to
	// run its resize and theme handlers and paint.
	_, err := page.WaitForFunction(`([w, dark]) => innerWidth === w && matchMedia("(prefers-color-scheme: dark)").matches === dark`,
		[]any{v.Width, v.ColorScheme == "dark"}, playwright.PageWaitForFunctionOptions{Polling: playwright.Float(50)})
	if err != nil {
		h.t.Fatalf("browsertest: the page never showed %s: %v", v.Name, err)
	}
	settle(h, page)
}

// settle waits two animation frames: resize and theme handlers have run and
// the page is painted.
func settle(h *Harness, page playwright.Page) {
	h.t.Helper()
	if _, err := page.Evaluate(`() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`); err != nil {
		h.t.Fatalf("browsertest: waiting for a frame: %v", err)
	}
}

// overflowScript reports the document's scroll width, the viewport width and,
// when they differ, the elements reaching past the viewport's right edge.
const overflowScript = `() => {
	const vw = window.innerWidth, sw = document.documentElement.scrollWidth;
	const wide = [];
	if (sw > vw) {
		for (const e of document.querySelectorAll("body *")) {
			const r = e.getBoundingClientRect();
			if (r.width > 0 && r.right > vw + 0.5) {
				let sel = e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (typeof e.className === "string" && e.className ? "." + e.className.trim().split(/\s+/).join(".") : "");
				wide.push(sel + " right=" + Math.round(r.right));
				if (wide.length >= 8) break;
			}
		}
	}
	return { vw, sw, wide };
}`

// ExpectNoHorizontalOverflow fails the test if page scrolls sideways:
// document.documentElement.scrollWidth > innerWidth. The message names the
// elements that stick out. where says what was checked, for the message.
func (h *Harness) ExpectNoHorizontalOverflow(page playwright.Page, where string) {
	h.t.Helper()
	v, err := page.Evaluate(overflowScript)
	if err != nil {
		h.t.Fatalf("browsertest: measuring overflow of %s: %v", where, err)
	}
	m, _ := v.(map[string]any)
	vw, sw := toInt(m["vw"]), toInt(m["sw"])
	if sw > vw {
		var wide []string
		if list, ok := m["wide"].([]any); ok {
			for _, w := range list {
				wide = append(wide, fmt.Sprint(w))
			}
		}
		h.t.Errorf("browsertest: %s scrolls sideways: scrollWidth %d > innerWidth %d; past the edge: %s", where, sw, vw, strings.Join(wide, ", "))
	}
}

func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	case int64:
		return int(n)
	}
	return -1
}
