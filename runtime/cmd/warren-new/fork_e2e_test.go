//go:build e2e

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestForkE2E is the newcomer's path: `make new` in the checkout, then `make test`
// in the fork (npm install from the registry, front end build, go vet, unit and
// browser tests), outside the checkout's go.work. It forks chat; WARREN_NEW_E2E=all
// forks every template, WARREN_NEW_E2E=a,b the ones named. It needs make, node and
// npm, and fails when they are missing.
func TestForkE2E(t *testing.T) {
	root := checkout(t)
	templates := []string{"chat"}
	switch v := os.Getenv("WARREN_NEW_E2E"); v {
	case "":
	case "all":
		var err error
		if templates, err = Templates(root); err != nil {
			t.Fatal(err)
		}
	default:
		templates = strings.Split(v, ",")
	}
	for _, name := range templates {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "my"+name)
			run := func(timeout time.Duration, dir string, args ...string) {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				cmd := exec.CommandContext(ctx, "make", args...)
				cmd.Dir = dir
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Run(); err != nil {
					t.Fatalf("make %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out.String())
				}
				t.Logf("make %s:\n%s", strings.Join(args, " "), out.String())
			}
			run(5*time.Minute, root, "--no-print-directory", "new", "TEMPLATE="+name, "NAME=example.com/me/my"+name, "DIR="+dir)
			run(25*time.Minute, dir, "--no-print-directory", "test")
			if fi, err := os.Stat(filepath.Join(dir, "web", "dist", "index.html")); err != nil || fi.Size() == 0 {
				t.Errorf("the fork's front end was not built: %v", err)
			}
		})
	}
}
