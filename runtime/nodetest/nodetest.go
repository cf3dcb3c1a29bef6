// Package nodetest runs Node.js scripts from Go tests: the tests that check a real
// npm client (partysocket, y-websocket, y-partyserver) against a Warren server.
//
// Require guarantees, when it returns, that node is on PATH and that Modules is a
// node_modules directory holding every named package: the nearest one at or above
// the test's working directory, so the same test works in the checkout (where
// `npm ci` at the repository root installs them) and in a fork made by warren-new
// (which has its own node_modules at its root). When something is missing, the
// test fails if it runs in CI (the CI environment variable is set, and not "false"
// or "0") and is skipped elsewhere; the message says what to install either way.
//
// Run and Command start node with NODE_PATH set to Modules (for CommonJS
// require) and refuse scripts outside the directory holding Modules: Node resolves
// an ES module's imports upward from the script's own directory, never through
// NODE_PATH. Run bounds the script's time and captures its output.
package nodetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// DefaultTimeout bounds a Run whose timeout is zero.
const DefaultTimeout = time.Minute

// Node is a node executable and the npm packages a test needs.
type Node struct {
	Path    string // the node executable
	Modules string // absolute path of the node_modules directory; "" when Require named no package and none was found
}

// Require returns node and the nearest node_modules directory, at or above the
// working directory, that holds every one of packages (npm names such as "ws" or
// "@scope/name"). When either is missing it fails the test in CI and skips it
// elsewhere, naming what to install.
func Require(t testing.TB, packages ...string) *Node {
	t.Helper()
	wd, err := os.Getwd()
	if err == nil {
		var n *Node
		if n, err = find(wd, exec.LookPath, packages); err == nil {
			return n
		}
	}
	if InCI() {
		t.Fatalf("%v (CI is set, so this test fails instead of skipping)", err)
	} else {
		t.Skipf("skipped: %v", err)
	}
	return nil
}

// InCI reports whether the tests run in CI: the CI environment variable is set to
// anything but "", "false" or "0".
func InCI() bool {
	switch os.Getenv("CI") {
	case "", "false", "0":
		return false
	}
	return true
}

// find looks up node with lookPath and the nearest node_modules at or above dir
// that holds every package.
func find(dir string, lookPath func(string) (string, error), packages []string) (*Node, error) {
	install := "run `npm ci` at the repository root"
	if len(packages) > 0 {
		install += " (it installs " + strings.Join(packages, ", ") + ")"
	}
	node, err := lookPath("node")
	if err != nil {
		return nil, fmt.Errorf("nodetest: node is not on PATH: install Node.js (>= 20), then %s", install)
	}
	mods, err := FindModules(dir, packages...)
	switch {
	case err == nil:
		return &Node{Path: node, Modules: mods}, nil
	case len(packages) == 0:
		return &Node{Path: node}, nil
	}
	return nil, fmt.Errorf("%w: %s", err, install)
}

// FindModules returns the absolute path of the nearest node_modules directory at
// or above dir that holds every one of packages (npm names such as "axe-core" or
// "@scope/name"), or an error naming what is missing.
func FindModules(dir string, packages ...string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		mods := filepath.Join(d, "node_modules")
		if hasAll(mods, packages) {
			return mods, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", fmt.Errorf("nodetest: no node_modules at or above %s holds all of %s", dir, strings.Join(packages, ", "))
}

func hasAll(mods string, packages []string) bool {
	if fi, err := os.Stat(mods); err != nil || !fi.IsDir() {
		return false
	}
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join(mods, filepath.FromSlash(p), "package.json")); err != nil {
			return false
		}
	}
	return true
}

// Command returns a node command running script with args under ctx, with
// NODE_PATH set to n.Modules. The caller starts it and waits for it. It fails the
// test when script lies outside the directory holding n.Modules, where its ES
// module imports would not resolve.
func (n *Node) Command(t testing.TB, ctx context.Context, script string, args ...string) *exec.Cmd {
	t.Helper()
	if n.Modules != "" {
		abs, err := filepath.Abs(script)
		if err != nil {
			t.Fatalf("nodetest: %v", err)
		}
		if rel, err := filepath.Rel(filepath.Dir(n.Modules), abs); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			t.Fatalf("nodetest: script %s is outside %s: its imports would not resolve from %s", script, filepath.Dir(n.Modules), n.Modules)
		}
	}
	cmd := exec.CommandContext(ctx, n.Path, append([]string{script}, args...)...)
	env := os.Environ()
	if n.Modules != "" {
		env = append(env, "NODE_PATH="+n.Modules)
	}
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second // a child holding the pipes open cannot hang the test
	return cmd
}

// Run runs script with args and returns what it wrote to standard output. It kills
// node after timeout (DefaultTimeout if zero). What node wrote to standard error
// goes to the test log, and into the error when the script fails or times out.
func (n *Node) Run(t testing.TB, timeout time.Duration, script string, args ...string) (string, error) {
	t.Helper()
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := n.Command(t, ctx, script, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if stderr.Len() > 0 {
		t.Logf("node %s stderr:\n%s", script, stderr.String())
	}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("no result after %v: %w", timeout, err)
		}
		return stdout.String(), fmt.Errorf("node %s %s: %w\nstderr:\n%s", script, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}
