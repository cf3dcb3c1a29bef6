package nodetest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func fakeNode(string) (string, error) { return "/opt/node/bin/node", nil }

func noNode(string) (string, error) { return "", errors.New("not found") }

// mkpkg creates node_modules/<pkg>/package.json under dir.
func mkpkg(t *testing.T, dir string, pkgs ...string) {
	t.Helper()
	for _, p := range pkgs {
		d := filepath.Join(dir, "node_modules", filepath.FromSlash(p))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "package.json"), []byte(`{"name":"`+p+`"}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindSearchesUpward(t *testing.T) {
	root := t.TempDir()
	app := filepath.Join(root, "apps", "chat")
	if err := os.MkdirAll(filepath.Join(app, "testdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	mkpkg(t, root, "partysocket", "ws", "@scope/pkg")
	mkpkg(t, filepath.Join(root, "apps"), "ws") // nearer, but lacks partysocket
	tests := []struct {
		name     string
		dir      string
		packages []string
		want     string
	}{
		{"root from a subdirectory", filepath.Join(app, "testdata"), []string{"partysocket", "ws"}, filepath.Join(root, "node_modules")},
		{"nearest that has them", app, []string{"ws"}, filepath.Join(root, "apps", "node_modules")},
		{"scoped package", app, []string{"@scope/pkg"}, filepath.Join(root, "node_modules")},
		{"no packages: nearest", app, nil, filepath.Join(root, "apps", "node_modules")},
		{"in the directory itself", root, []string{"partysocket"}, filepath.Join(root, "node_modules")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := find(tt.dir, fakeNode, tt.packages)
			if err != nil {
				t.Fatal(err)
			}
			if n.Modules != tt.want || n.Path != "/opt/node/bin/node" {
				t.Fatalf("got %+v, want Modules %s", n, tt.want)
			}
		})
	}
}

func TestFindMissing(t *testing.T) {
	root := t.TempDir()
	mkpkg(t, root, "ws")
	tests := []struct {
		name     string
		lookPath func(string) (string, error)
		packages []string
		want     []string
	}{
		{"missing package", fakeNode, []string{"ws", "y-websocket"}, []string{"no node_modules at or above " + root, "ws, y-websocket", "`npm ci` at the repository root"}},
		{"missing node", noNode, []string{"ws"}, []string{"node is not on PATH", "`npm ci` at the repository root (it installs ws)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := find(root, tt.lookPath, tt.packages)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if n, err := find(root+"/none", fakeNode, nil); err != nil || n.Modules != filepath.Join(root, "node_modules") {
		t.Fatalf("no packages: %+v, %v", n, err)
	}
}

func TestInCI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "false": false, "0": false, "true": true, "1": true, "yes": true} {
		t.Setenv("CI", v)
		if got := InCI(); got != want {
			t.Errorf("CI=%q: InCI() = %v, want %v", v, got, want)
		}
	}
}

// recorder records how Require ended the test.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(f string, a ...any) {
	r.fatal = f
	runtime.Goexit()
}
func (r *recorder) Skipf(f string, a ...any) {
	r.skip = f
	runtime.Goexit()
}

func TestRequireFailsInCIAndSkipsElsewhere(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, ci := range []string{"true", ""} {
		t.Setenv("CI", ci)
		r := &recorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			Require(r, "nodetest-no-such-package")
		}()
		<-done
		if ci != "" && (r.fatal == "" || r.skip != "") || ci == "" && (r.skip == "" || r.fatal != "") {
			t.Errorf("CI=%q: fatal %q, skip %q", ci, r.fatal, r.skip)
		}
	}
}

func TestRun(t *testing.T) {
	n := Require(t)
	n.Modules = filepath.Join(t.TempDir(), "node_modules") // outside: refused
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Command(r, context.Background(), "testdata/echo.cjs")
	}()
	<-done
	if !strings.Contains(r.fatal, "outside") {
		t.Errorf("script outside the modules' directory: fatal %q", r.fatal)
	}

	wd, _ := os.Getwd()
	n.Modules = filepath.Join(wd, "node_modules")
	out, err := n.Run(t, 0, "testdata/echo.cjs", "a", "b c")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Args     []string
		NodePath string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout %q: %v", out, err)
	}
	if strings.Join(got.Args, "|") != "a|b c" || got.NodePath != n.Modules {
		t.Errorf("got %+v", got)
	}

	if _, err := n.Run(t, 0, "testdata/fail.cjs"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failing script: %v", err)
	}
	start := time.Now()
	if _, err := n.Run(t, 300*time.Millisecond, "testdata/hang.cjs"); err == nil || !strings.Contains(err.Error(), "no result after 300ms") {
		t.Errorf("hanging script: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("timeout took %v", d)
	}
}
