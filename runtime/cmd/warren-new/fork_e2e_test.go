//go:build e2e

package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// offlineEnv is the environment of a machine with no network: npm may use only
// its cache, the go command only its module cache. The fork must build so,
// because the checkout's own `make deps` has filled both caches.
var offlineEnv = []string{"npm_config_offline=true", "GOPROXY=off"}

// TestForkE2E is the newcomer's path, offline: `make new` in the checkout, then
// in the fork `make build` and `make test` (npm ci from the fork's own
// package-lock.json, front end build, go vet, unit and browser tests) with
// npm_config_offline=true GOPROXY=off, outside the checkout's go.work; and
// `make run` serves under the fork's name on the port `make new` announced. It
// forks chat; WARREN_NEW_E2E=all forks every template, WARREN_NEW_E2E=a,b the
// ones named. It needs make, node and npm, and fails when they are missing.
// Before, a fork had no package-lock.json (npm ci failed offline with
// ENOTCACHED), its binary and logs were named after the template, and it took
// the template's port.
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
			run := func(timeout time.Duration, dir string, env []string, args ...string) string {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				cmd := exec.CommandContext(ctx, "make", args...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), env...)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Run(); err != nil {
					t.Fatalf("%s make %s in %s: %v\n%s", strings.Join(env, " "), strings.Join(args, " "), dir, err, out.String())
				}
				t.Logf("make %s:\n%s", strings.Join(args, " "), out.String())
				return out.String()
			}
			out := run(5*time.Minute, root, nil, "--no-print-directory", "new", "TEMPLATE="+name, "NAME=example.com/me/my"+name, "DIR="+dir)
			m := regexp.MustCompile(`serve it on (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("make new does not say where the fork serves:\n%s", out)
			}
			url := m[1]
			if _, err := os.Stat(filepath.Join(dir, "package-lock.json")); err != nil {
				t.Fatalf("make new wrote no package-lock.json: %v", err)
			}
			run(10*time.Minute, dir, offlineEnv, "--no-print-directory", "build")
			if fi, err := os.Stat(filepath.Join(dir, "web", "dist", "index.html")); err != nil || fi.Size() == 0 {
				t.Errorf("the fork's front end was not built: %v", err)
			}
			checkMakeRun(t, dir, "my"+name, url)
			run(25*time.Minute, dir, offlineEnv, "--no-print-directory", "test")
		})
	}
}

// checkMakeRun starts `make run` in the fork and checks that the server logs
// the fork's name and the URL it serves, and answers there; then stops it.
func checkMakeRun(t *testing.T, dir, name, url string) {
	t.Helper()
	cmd := exec.Command("make", "--no-print-directory", "run", "ARGS=-data "+filepath.Join(t.TempDir(), "data"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), offlineEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // make and the server: one group to stop
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var log strings.Builder
	deadline := time.After(5 * time.Minute)
	for serving := false; !serving; {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("make run ended before serving:\n%s", log.String())
			}
			log.WriteString(line + "\n")
			serving = strings.Contains(line, "msg=serving")
			if serving {
				for _, want := range []string{"app=" + name + " ", "url=" + url + "/"} {
					if !strings.Contains(line, want) {
						t.Errorf("make run logs %q, want %q in it", line, want)
					}
				}
			}
		case <-deadline:
			t.Fatalf("make run: no \"serving\" line after 5 minutes:\n%s", log.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatalf("GET %s/healthz: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s/healthz: %d", url, resp.StatusCode)
	}
}
