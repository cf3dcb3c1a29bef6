package browsertest

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/mxschmitt/playwright-go"
)

// chromiumArgs keep Chromium off the network except for the pages a test opens,
// and let it run as root in a container.
var chromiumArgs = []string{
	"--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
}

// launchConfig says how to start Playwright and Chromium, from the environment
// that scripts/e2e-setup.sh exports.
type launchConfig struct {
	driverDir  string // PLAYWRIGHT_DRIVER_PATH; "" means playwright-go's default cache
	chromium   string // CHROMIUM_PATH; "" means Playwright's own downloaded Chromium
	configured bool   // either variable is set: the user asked for this setup
	ci         bool   // CI is set to a true value
}

func launchConfigFromEnv(getenv func(string) string) launchConfig {
	c := launchConfig{
		driverDir: getenv("PLAYWRIGHT_DRIVER_PATH"),
		chromium:  getenv("CHROMIUM_PATH"),
		ci:        isTrue(getenv("CI")),
	}
	c.configured = c.driverDir != "" || c.chromium != ""
	return c
}

func isTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

// mustFail reports whether a missing browser fails the test rather than
// skipping it: always in CI, and whenever the environment names a browser or
// driver (a broken setup is an error, not a reason to skip).
func (c launchConfig) mustFail() bool { return c.ci || c.configured }

func (c launchConfig) runOptions() *playwright.RunOptions {
	return &playwright.RunOptions{
		DriverDirectory:     c.driverDir,
		SkipInstallBrowsers: true,
		Verbose:             false,
	}
}

func (c launchConfig) launchOptions() playwright.BrowserTypeLaunchOptions {
	o := playwright.BrowserTypeLaunchOptions{
		Headless: playwright.Bool(true),
		Args:     chromiumArgs,
	}
	if c.chromium != "" {
		o.ExecutablePath = playwright.String(c.chromium)
	}
	return o
}

const setupHint = "browser tests need Chromium and the Playwright driver: run `make e2e`, " +
	"or `eval \"$(scripts/e2e-setup.sh)\"` before `go test -tags e2e`"

// shared is the one Playwright driver and Chromium per test binary, started on
// first use and stopped by [Main] (or by the driver exiting with the process).
var shared struct {
	mu      sync.Mutex
	pw      *playwright.Playwright
	browser playwright.Browser
	err     error
	tried   bool
}

// launch returns the shared browser, starting it on first use.
func launch(cfg launchConfig) (playwright.Browser, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.tried {
		return shared.browser, shared.err
	}
	shared.tried = true
	pw, err := playwright.Run(cfg.runOptions())
	if err != nil {
		shared.err = fmt.Errorf("start Playwright driver: %w", err)
		return nil, shared.err
	}
	b, err := pw.Chromium.Launch(cfg.launchOptions())
	if err != nil {
		pw.Stop()
		shared.err = fmt.Errorf("launch Chromium: %w", err)
		return nil, shared.err
	}
	shared.pw, shared.browser = pw, b
	return b, nil
}

// browserFor returns the shared browser, or ends the test: t.Fatal in CI or
// when the environment configures a browser, t.Skip otherwise.
func browserFor(t testing.TB) playwright.Browser {
	t.Helper()
	cfg := launchConfigFromEnv(os.Getenv)
	b, err := launch(cfg)
	if err == nil {
		return b
	}
	if cfg.mustFail() {
		t.Fatalf("browsertest: %v\n%s", err, setupHint)
	}
	t.Skipf("browsertest: %v\n%s", err, setupHint)
	return nil
}

// Main runs the tests and then stops the shared browser and driver. Use it
// from TestMain: func TestMain(m *testing.M) { browsertest.Main(m) }.
// It is optional: without it the driver and Chromium exit with the test binary.
func Main(m *testing.M) {
	code := m.Run()
	if err := shutdown(); err != nil {
		fmt.Fprintf(os.Stderr, "browsertest: shutdown: %v\n", err)
	}
	os.Exit(code)
}

func shutdown() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	var errs []error
	if shared.browser != nil {
		errs = append(errs, shared.browser.Close())
	}
	if shared.pw != nil {
		errs = append(errs, shared.pw.Stop())
	}
	shared.browser, shared.pw, shared.tried, shared.err = nil, nil, false, nil
	return errors.Join(errs...)
}
