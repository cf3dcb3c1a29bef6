package browsertest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mxschmitt/playwright-go"

	"github.com/warrenhq/warren/runtime/nodetest"
)

// Violation is one axe-core rule a page breaks, with the elements that break it.
type Violation struct {
	ID     string   `json:"id"`     // the rule, e.g. "color-contrast"
	Impact string   `json:"impact"` // "minor", "moderate", "serious" or "critical"
	Help   string   `json:"help"`   // what the rule asks for
	URL    string   `json:"helpUrl"`
	Nodes  []string `json:"nodes"` // CSS selectors of the offending elements, with axe's summary
}

func (v Violation) String() string {
	return fmt.Sprintf("%s (%s): %s\n    %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n    "))
}

// axeSource is axe-core's axe.min.js, read once from the nearest node_modules
// (npm ci at the repository root installs it).
var axeSource struct {
	once sync.Once
	src  string
	err  error
}

func loadAxe() (string, error) {
	axeSource.once.Do(func() {
		wd, err := os.Getwd()
		if err != nil {
			axeSource.err = err
			return
		}
		mods, err := nodetest.FindModules(wd, "axe-core")
		if err != nil {
			axeSource.err = fmt.Errorf("%w: run `npm ci` at the repository root (it installs axe-core)", err)
			return
		}
		b, err := os.ReadFile(filepath.Join(mods, "axe-core", "axe.min.js"))
		axeSource.src, axeSource.err = string(b), err
	})
	return axeSource.src, axeSource.err
}

// axeRun runs axe on the whole document (WCAG 2.x A and AA rules and axe's
// best practices) and returns the violations in a compact form.
const axeRun = `async () => {
	const r = await window.axe.run(document, { resultTypes: ["violations"] });
	return JSON.stringify(r.violations.map((v) => ({
		id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
		nodes: v.nodes.slice(0, 10).map((n) => n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\s+/g, " ")),
	})));
}`

// Axe runs axe-core in page and returns every violation it finds. axe-core is
// injected through the DevTools protocol, so a Content-Security-Policy of the
// page does not block it.
func (h *Harness) Axe(page playwright.Page) []Violation {
	h.t.Helper()
	src, err := loadAxe()
	if err != nil {
		h.t.Fatalf("browsertest: axe-core: %v", err)
	}
	if ok, _ := page.Evaluate(`() => typeof window.axe === "object"`); ok != true {
		// The source becomes the body of the evaluated function, not an eval()
		// in the page, which a CSP without 'unsafe-eval' would refuse.
		if _, err := page.Evaluate("() => {\n" + src + "\nreturn true;\n}"); err != nil {
			h.t.Fatalf("browsertest: injecting axe-core: %v", err)
		}
	}
	out, err := page.Evaluate(axeRun)
	if err != nil {
		h.t.Fatalf("browsertest: axe.run: %v", err)
	}
	var vs []Violation
	if err := json.Unmarshal([]byte(fmt.Sprint(out)), &vs); err != nil {
		h.t.Fatalf("browsertest: axe.run result: %v", err)
	}
	return vs
}

// ExpectAccessible fails the test when axe-core finds a serious or critical
// violation in page (contrast, missing labels, names of buttons and links,
// ARIA misuse, ...); minor and moderate ones are logged. where says what was
// checked, for the message. A serious finding is checked again after the page
// has had half a second and two frames more, and only what both runs find
// fails the test: on a loaded machine a run can straddle a re-render (a node
// replaced, a theme switch landing mid-run) and report colours no one sees.
func (h *Harness) ExpectAccessible(page playwright.Page, where string) {
	h.t.Helper()
	serious := func(vs []Violation) map[string]Violation {
		out := map[string]Violation{}
		for _, v := range vs {
			if v.Impact == "serious" || v.Impact == "critical" {
				out[v.ID] = v
			}
		}
		return out
	}
	first := h.Axe(page)
	confirmed := serious(first)
	if len(confirmed) > 0 {
		page.WaitForTimeout(500)
		settle(h, page)
		again := serious(h.Axe(page))
		for id := range confirmed {
			if _, ok := again[id]; !ok {
				h.t.Logf("browsertest: axe on %s: %s found once, not again: a transient of the run", where, id)
				delete(confirmed, id)
			} else {
				confirmed[id] = again[id]
			}
		}
	}
	var bad, other []string
	for _, v := range confirmed {
		bad = append(bad, v.String())
	}
	for _, v := range first {
		if v.Impact != "serious" && v.Impact != "critical" {
			other = append(other, v.ID+" ("+v.Impact+")")
		}
	}
	if len(other) > 0 {
		h.t.Logf("browsertest: axe on %s, minor or moderate: %s", where, strings.Join(other, ", "))
	}
	if len(bad) > 0 {
		h.t.Errorf("browsertest: axe on %s: %d serious or critical violations:\n  %s", where, len(bad), strings.Join(bad, "\n  "))
	}
}
