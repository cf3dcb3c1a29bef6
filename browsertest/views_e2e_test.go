//go:build e2e

package browsertest

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// errorsTB records Errorf instead of failing, to test checks that must fail.
type errorsTB struct {
	testing.TB
	errs []string
}

func (r *errorsTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *errorsTB) Helper() {}

// page serves html at / for the view checks.
func servePage(h *Harness, html string) {
	h.Serve(func(string) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", "script-src 'self'") // axe must get in anyway
			fmt.Fprint(w, html)
		}), nil
	})
}

const goodPage = `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width"><title>ok</title>
<style>@media (prefers-color-scheme: dark) { body { background: #111; color: #eee; } }</style></head>
<body><main><h1>Fine</h1><p>Readable text.</p><button type="button">Named</button></main></body></html>`

// A page that scrolls sideways on a phone, has unreadable text and an unnamed
// button: CheckViews must report all three, at the views where they happen.
const badPage = `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width"><title>bad</title></head>
<body><main><h1>Broken</h1><div id="wide" style="width:600px">wide</div>
<p style="color:#bbb;background:#fff">faint text</p><button type="button"></button></main></body></html>`

func TestCheckViewsPassesAGoodPage(t *testing.T) {
	dir := t.TempDir()
	h := New(t, Config{ScreenshotsDir: dir})
	servePage(h, goodPage)
	p := h.NewUser("viewer")
	if _, err := p.Goto("/"); err != nil {
		t.Fatal(err)
	}
	t.Setenv(ScreenshotsEnv, "1")
	h.CheckViews(p, "home")
	for _, v := range Views {
		fi, err := os.Stat(filepath.Join(dir, "home-"+v.Name+".png"))
		switch {
		case v.NoScreenshot && err == nil:
			t.Errorf("a screenshot of %s, which is not shot", v.Name)
		case !v.NoScreenshot && (err != nil || fi.Size() < 500):
			t.Errorf("screenshot of %s: %v", v.Name, err)
		}
	}
	if got := p.ViewportSize(); got == nil || got.Width != 1280 {
		t.Errorf("viewport after CheckViews = %+v, want it restored to 1280 wide", got)
	}
	// The dark view really was dark: prefers-color-scheme was emulated.
	h.ShowView(p, Views[1])
	if bg, _ := p.Evaluate(`() => getComputedStyle(document.body).backgroundColor`); bg != "rgb(17, 17, 17)" {
		t.Errorf("dark view: body background %v, want rgb(17, 17, 17)", bg)
	}
}

func TestCheckViewsReportsOverflowAndViolations(t *testing.T) {
	h := New(t, Config{})
	servePage(h, badPage)
	p := h.NewUser("viewer")
	if _, err := p.Goto("/"); err != nil {
		t.Fatal(err)
	}
	rec := &errorsTB{TB: t}
	checked := &Harness{Expect: h.Expect, Browser: h.Browser, t: rec, cfg: h.cfg}
	checked.CheckViews(p, "bad", Views[0], Views[2])
	all := strings.Join(rec.errs, "\n")
	if n := strings.Count(all, "scrolls sideways"); n != 1 || !strings.Contains(all, "bad at phone-light scrolls sideways: scrollWidth 6") || !strings.Contains(all, "div#wide") {
		t.Errorf("want one overflow report, at phone-light, naming div#wide; got:\n%s", all)
	}
	for _, rule := range []string{"color-contrast (serious)", "button-name (critical)"} {
		if strings.Count(all, rule) != 2 {
			t.Errorf("want %s reported at both views; got:\n%s", rule, all)
		}
	}
}
