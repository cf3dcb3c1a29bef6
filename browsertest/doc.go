// Package browsertest runs Warren apps in a real Chromium for browser tests.
// It is a module of its own (github.com/warrenhq/warren/browsertest), so that
// only the tests that drive a browser require playwright-go, not the runtime.
// The app under test is an objecttest.Server (in process or its binary), the
// same fixture the unit and chaos tests use.
//
// A test starts the app under test on a free 127.0.0.1 port with a temporary
// data directory, opens one isolated browser context per user, and asserts
// with Playwright's web-first expectations:
//
//	//go:build e2e
//
//	func TestChat(t *testing.T) {
//		h := browsertest.New(t, browsertest.Config{})
//		srv := h.Serve(func(dir string) (http.Handler, error) { return newApp(dir) })
//		alice, bob := h.NewUser("alice"), h.NewUser("bob")
//		alice.Goto("/room/1")
//		bob.Goto("/room/1")
//		// ...
//		h.Expect.Locator(bob.Locator(".msg")).ToHaveText("hi")
//		srv.Restart() // same port, same data directory
//	}
//
// Browser tests carry the build tag e2e and run with `make e2e`, which
// evaluates scripts/e2e-setup.sh: it installs Debian's chromium and npm's
// playwright-core (the driver) and exports CHROMIUM_PATH,
// PLAYWRIGHT_DRIVER_PATH and PLAYWRIGHT_NODEJS_PATH. Nothing is downloaded at
// test time. Without those variables the harness uses a normal Playwright
// install (driver and browsers already installed with the playwright-go CLI).
// When no browser can be started the test fails in CI (CI=true) or when those
// variables are set, and is skipped otherwise.
//
// With WARREN_E2E_CLUSTER=3 ([ClusterEnv]; `make e2e-cluster`), the same tests
// run against a 3-node cluster: Serve starts three in-process nodes of the app
// (its AppFunc must open it with server.Open) on three embedded NATS servers,
// ServeBinary three processes, and each user's browser enters the cluster by a
// node of its own (n1, n2, n3, n1, ...), through a proxy that keeps the URL the
// test gave it.
//
// Chromium and the driver start once per test binary and are shared; each
// user gets its own context. When a test fails, the harness saves a
// screenshot, the HTML and the console log of every user's page (and the
// output of app subprocesses) under test-artifacts/ at the repository root,
// and logs the directory.
package browsertest
