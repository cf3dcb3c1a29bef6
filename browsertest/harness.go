package browsertest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mxschmitt/playwright-go"

	"github.com/warrenhq/warren/runtime/objecttest"
	"github.com/warrenhq/warren/runtime/objecttest/clustertest"
)

// Config tunes a [Harness]. The zero value is ready to use.
type Config struct {
	// Timeout bounds every Playwright action, navigation and Expect assertion.
	// Default 10s.
	Timeout time.Duration
	// ArtifactsDir is where failure artifacts go. Default: $WARREN_TEST_ARTIFACTS
	// if set, else test-artifacts/<package path>/<test name> at the repository
	// root (the directory holding go.work, else go.mod).
	ArtifactsDir string
	// ScreenshotsDir is where [Harness.CheckViews] writes screenshots when
	// UPDATE_SCREENSHOT is set. Default: docs/screenshots under the working
	// directory (an app's tests run in the app's directory).
	ScreenshotsDir string
}

// Harness drives one browser test: the app under test and one isolated
// browser context per user. All users share one Chromium per test binary.
// When the test ends it closes the contexts and stops the servers it started;
// if the test failed, it first saves every page's screenshot and console log to
// the artifacts directory and logs where.
type Harness struct {
	// Expect makes web-first assertions that retry until Config.Timeout, e.g.
	// h.Expect.Locator(page.Locator("#status")).ToHaveText("online").
	Expect playwright.PlaywrightAssertions
	// Browser is the shared Chromium. Do not close it.
	Browser playwright.Browser

	t        testing.TB
	cfg      Config
	nodes    int // ClusterEnv's node count, 0 for one server
	mu       sync.Mutex
	users    []*user
	servers  []*objecttest.Server // the servers the tests see (a cluster's n1)
	logged   []*objecttest.Server // every server and node, for the artifacts
	closers  []func()             // in start order; cleanup runs them last first
	entries  []string             // the latest cluster's node addresses (users' entry nodes)
	nodeList []*objecttest.Server // the latest cluster's nodes
}

type user struct {
	name  string
	ctx   playwright.BrowserContext
	page  playwright.Page
	log   *consoleLog
	proxy *entryProxy // its entry node, in cluster mode
}

// New starts (or reuses) Chromium and returns a harness for t. Without a
// browser it fails the test in CI (CI=true) or when PLAYWRIGHT_DRIVER_PATH or
// CHROMIUM_PATH is set, and skips it otherwise, saying to run `make e2e`.
func New(t testing.TB, cfg Config) *Harness {
	t.Helper()
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	nodes, err := clusterSize()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	b := browserFor(t)
	// The test's temporary directories (the servers' data, a cluster's NATS
	// stores) are removed by a cleanup registered at the first TempDir: make it
	// run after the harness's own, which stops what writes there.
	t.TempDir()
	h := &Harness{
		Expect:  playwright.NewPlaywrightAssertions(ms(cfg.Timeout)),
		Browser: b,
		t:       t,
		cfg:     cfg,
		nodes:   nodes,
	}
	t.Cleanup(h.cleanup)
	return h
}

// Serve starts app in process (see [objecttest.ServeApp]); the harness stops it
// at the end, after saving artifacts. Users created afterwards resolve relative URLs
// against the most recently started server. With [ClusterEnv] set, it starts the
// nodes of a cluster of app instead (see there) and returns n1.
func (h *Harness) Serve(app objecttest.AppFunc) *objecttest.Server {
	h.t.Helper()
	if h.nodes > 0 {
		c := clustertest.Start(h.t, app, h.nodes)
		h.addCluster(c.Nodes, c.Close)
		return c.Nodes[0]
	}
	s := objecttest.StartApp(h.t, app)
	h.addServer(s)
	return s
}

// ServeBinary starts an app binary (see [objecttest.ServeBinary]); the harness stops it
// at the end and, on failure, saves its output as server-<n>.log. With
// [ClusterEnv] set, it starts that many processes of it as one cluster
// ([objecttest.StartCluster]) and returns n1.
func (h *Harness) ServeBinary(bin string, args ...string) *objecttest.Server {
	h.t.Helper()
	if h.nodes > 0 {
		nodes := objecttest.StartClusterUnmanaged(h.t, bin, h.nodes, args...)
		h.addCluster(nodes, func() {
			for i := len(nodes) - 1; i >= 0; i-- {
				nodes[i].Close()
			}
		})
		return nodes[0]
	}
	s := objecttest.StartBinary(h.t, bin, args...)
	h.addServer(s)
	return s
}

func (h *Harness) addServer(s *objecttest.Server) {
	h.mu.Lock()
	h.servers = append(h.servers, s)
	h.logged = append(h.logged, s)
	h.closers = append(h.closers, s.Close)
	h.mu.Unlock()
}

func (h *Harness) addCluster(nodes []*objecttest.Server, close func()) {
	h.mu.Lock()
	h.servers = append(h.servers, nodes[0])
	h.logged = append(h.logged, nodes...)
	h.closers = append(h.closers, close)
	h.entries, h.nodeList = h.entries[:0], nodes
	for _, n := range nodes {
		h.entries = append(h.entries, n.Addr)
	}
	h.mu.Unlock()
}

// Nodes returns the nodes of the latest cluster the harness started ([ClusterEnv]),
// n1 first; nil when it serves one server.
func (h *Harness) Nodes() []*objecttest.Server {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*objecttest.Server(nil), h.nodeList...)
}

// URL returns the latest server's URL joined with path (which starts with "/").
func (h *Harness) URL(path string) string {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.servers) == 0 {
		h.t.Fatalf("browsertest: URL(%q) before Serve", path)
	}
	return h.servers[len(h.servers)-1].URL + path
}

// NewUser opens a new browser context (its own cookies and localStorage)
// with one page, for the user called name (unique within the test; it names
// the artifacts). Console messages, page errors and failed requests of the
// page are recorded. Relative URLs in page.Goto resolve against the latest
// server started before the call.
func (h *Harness) NewUser(name string) playwright.Page {
	h.t.Helper()
	return h.NewUserWith(name, UserOptions{})
}

// UserOptions describe a user's browser. The zero value is a 1280×800 desktop
// in the light colour scheme, with a mouse.
type UserOptions struct {
	// Width and Height of the viewport in CSS pixels; default 1280×800.
	Width, Height int
	// ColorScheme is what prefers-color-scheme reports: "light" (default) or "dark".
	ColorScheme string
	// Touch makes a phone: touch events, a mobile viewport (meta viewport honoured).
	Touch bool
}

// NewUserWith is [Harness.NewUser] on a browser described by o, e.g. a phone:
// UserOptions{Width: 390, Height: 844, Touch: true}.
func (h *Harness) NewUserWith(name string, o UserOptions) playwright.Page {
	h.t.Helper()
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 1280, 800
	}
	scheme := playwright.ColorSchemeLight
	if o.ColorScheme == "dark" {
		scheme = playwright.ColorSchemeDark
	}
	h.mu.Lock()
	for _, u := range h.users {
		if u.name == name {
			h.mu.Unlock()
			h.t.Fatalf("browsertest: NewUser(%q): name already used", name)
		}
	}
	opts := playwright.BrowserNewContextOptions{
		Viewport:    &playwright.Size{Width: o.Width, Height: o.Height},
		ColorScheme: scheme,
		HasTouch:    playwright.Bool(o.Touch),
		IsMobile:    playwright.Bool(o.Touch),
	}
	if n := len(h.servers); n > 0 {
		opts.BaseURL = playwright.String(h.servers[n-1].URL)
	}
	var proxy *entryProxy
	if len(h.entries) > 0 {
		entry := h.entries[len(h.users)%len(h.entries)]
		var err error
		if proxy, err = startEntryProxy(entry, h.entries); err != nil {
			h.mu.Unlock()
			h.t.Fatalf("browsertest: NewUser(%q): entry proxy: %v", name, err)
		}
		opts.Proxy = proxy.proxy()
	}
	h.mu.Unlock()

	ctx, err := h.Browser.NewContext(opts)
	if err != nil {
		if proxy != nil {
			proxy.close()
		}
		h.t.Fatalf("browsertest: NewUser(%q): new context: %v", name, err)
	}
	ctx.SetDefaultTimeout(ms(h.cfg.Timeout))
	ctx.SetDefaultNavigationTimeout(ms(h.cfg.Timeout))
	page, err := ctx.NewPage()
	if err != nil {
		ctx.Close()
		if proxy != nil {
			proxy.close()
		}
		h.t.Fatalf("browsertest: NewUser(%q): new page: %v", name, err)
	}
	u := &user{name: name, ctx: ctx, page: page, log: &consoleLog{}, proxy: proxy}
	if proxy != nil {
		u.log.add("[browsertest] entry node %s", proxy.entry)
	}
	u.log.attach(page)
	h.mu.Lock()
	h.users = append(h.users, u)
	h.mu.Unlock()
	return page
}

// Console returns what user name's page logged so far, one entry a line.
func (h *Harness) Console(name string) string {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range h.users {
		if u.name == name {
			return u.log.String()
		}
	}
	h.t.Fatalf("browsertest: Console(%q): no such user", name)
	return ""
}

// ArtifactsDir returns the directory failure artifacts of this test go to.
func (h *Harness) ArtifactsDir() string {
	if h.cfg.ArtifactsDir != "" {
		return h.cfg.ArtifactsDir
	}
	return defaultArtifactsDir(h.t.Name())
}

// saveArtifacts writes, for every user, <name>.png (full-page screenshot),
// <name>.console.log and <name>.html, and server-<n>.log for subprocess
// servers with output. It keeps going past errors and returns them joined.
func (h *Harness) saveArtifacts(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	h.mu.Lock()
	users := append([]*user(nil), h.users...)
	servers := append([]*objecttest.Server(nil), h.logged...)
	h.mu.Unlock()
	var errs []error
	for _, u := range users {
		base := filepath.Join(dir, fileName(u.name))
		if _, err := u.page.Screenshot(playwright.PageScreenshotOptions{
			Path:     playwright.String(base + ".png"),
			FullPage: playwright.Bool(true),
			Timeout:  playwright.Float(5000),
		}); err != nil {
			errs = append(errs, fmt.Errorf("screenshot of %s: %w", u.name, err))
		}
		if html, err := u.page.Content(); err == nil {
			errs = append(errs, os.WriteFile(base+".html", []byte(html), 0o644))
		}
		log := fmt.Sprintf("# url: %s\n%s", u.page.URL(), u.log.String())
		errs = append(errs, os.WriteFile(base+".console.log", []byte(log), 0o644))
	}
	for i, s := range servers {
		if out := s.Output(); out != "" {
			errs = append(errs, os.WriteFile(filepath.Join(dir, fmt.Sprintf("server-%d.log", i+1)), []byte(out), 0o644))
		}
	}
	return errors.Join(errs...)
}

func (h *Harness) cleanup() {
	if h.t.Failed() {
		dir := h.ArtifactsDir()
		if err := h.saveArtifacts(dir); err != nil {
			h.t.Logf("browsertest: saving artifacts: %v", err)
		}
		h.t.Logf("browsertest: screenshots and console logs of the failed test in %s", dir)
	}
	h.mu.Lock()
	users, closers := h.users, h.closers
	h.users, h.servers, h.logged, h.closers = nil, nil, nil, nil
	h.mu.Unlock()
	for _, u := range users {
		u.ctx.Close()
		if u.proxy != nil {
			u.proxy.close()
		}
	}
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
}

// consoleLog records what a page reports, safe for Playwright's event goroutine.
type consoleLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *consoleLog) add(format string, args ...any) {
	line := time.Now().Format("15:04:05.000") + " " + fmt.Sprintf(format, args...)
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
}

func (l *consoleLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 0 {
		return ""
	}
	return strings.Join(l.lines, "\n") + "\n"
}

func (l *consoleLog) attach(page playwright.Page) {
	page.OnConsole(func(m playwright.ConsoleMessage) { l.add("[%s] %s", m.Type(), m.Text()) })
	page.OnPageError(func(err error) { l.add("[pageerror] %v", err) })
	page.OnCrash(func(playwright.Page) { l.add("[crash] page crashed") })
	page.OnRequestFailed(func(r playwright.Request) {
		l.add("[requestfailed] %s %s: %v", r.Method(), r.URL(), r.Failure())
	})
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fileName turns a test or user name into a safe single path element.
func fileName(s string) string {
	s = unsafeChars.ReplaceAllString(s, "_")
	s = strings.Trim(s, "._")
	if s == "" {
		return "_"
	}
	return s
}

// defaultArtifactsDir is $WARREN_TEST_ARTIFACTS/<pkg>/<test>, else
// <repo root>/test-artifacts/<pkg>/<test>, where <pkg> is the working
// directory relative to the root and <test> the test name made path-safe
// (subtests nest).
func defaultArtifactsDir(testName string) string {
	wd, err := os.Getwd()
	if err != nil {
		wd = "."
	}
	root := repoRoot(wd)
	base := os.Getenv("WARREN_TEST_ARTIFACTS")
	if base == "" {
		base = filepath.Join(root, "test-artifacts")
	}
	rel, err := filepath.Rel(root, wd)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = filepath.Base(wd)
	}
	parts := []string{base, rel}
	for _, p := range strings.Split(testName, "/") {
		parts = append(parts, fileName(p))
	}
	return filepath.Join(parts...)
}

// repoRoot is the nearest ancestor of dir holding go.work, else the nearest
// holding go.mod, else dir.
func repoRoot(dir string) string {
	mod := ""
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d
		}
		if mod == "" {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				mod = d
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if mod != "" {
		return mod
	}
	return dir
}

func ms(d time.Duration) float64 { return float64(d / time.Millisecond) }
