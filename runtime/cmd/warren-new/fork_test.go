package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
)

// checkout is the Warren checkout these tests run in (three levels up).
func checkout(t *testing.T) string {
	t.Helper()
	dir, err := FindCheckout(".")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// goCmd runs the go command in dir as a standalone module: no go.work, go.mod may
// be updated, and no network (GOPROXY=off): every dependency must already be in the
// module cache, as it is after `make deps` (which `make test` runs first).
func goCmd(t *testing.T, dir string, timeout time.Duration, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("go %s in the fork: %v\n%s\n(GOPROXY=off: a missing module means the module cache lacks it; run `make deps` first)", strings.Join(args, " "), err, out.String())
		}
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("go %s in the fork: no result after %v\n%s", strings.Join(args, " "), timeout, out.String())
	}
	return out.String()
}

// TestForkEveryTemplate forks every app of the checkout into a temporary directory
// and builds, vets and unit-tests the fork as a standalone module, offline. The
// front end is not rebuilt: the fork gets the checkout's web/dist when it was built
// (make test builds it first), and the checkout's node_modules for tests that run
// npm clients. TestForkE2E (build tag e2e) does the whole thing: npm install, make test.
func TestForkEveryTemplate(t *testing.T) {
	root := checkout(t)
	names, err := Templates(root)
	if err != nil || len(names) == 0 {
		t.Fatalf("no templates in %s/apps: %v", root, err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "my"+name)
			module := "example.com/me/my" + name
			res, err := Fork(Options{Checkout: root, Template: name, Module: module, Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range res.Warnings {
				t.Logf("warning: %s", w)
			}
			checkForkFiles(t, dir, name, module)
			if err := copyTree(filepath.Join(root, "apps", name, "web", "dist"), filepath.Join(dir, "web", "dist")); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(root, "node_modules")); err == nil {
				if err := os.Symlink(filepath.Join(root, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
					t.Fatal(err)
				}
			}
			bin := filepath.Join(dir, "bin", "my"+name)
			goCmd(t, dir, 5*time.Minute, "build", "-o", bin, ".")
			checkForkIdentity(t, bin, "my"+name, res.Port)
			checkForkLock(t, dir, name)
			goCmd(t, dir, 5*time.Minute, "vet", "./...")
			goCmd(t, dir, 8*time.Minute, "test", "-count=1", "./...")
		})
	}
}

// checkForkFiles checks what makes the fork standalone.
func checkForkFiles(t *testing.T, dir, template, module string) {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("fork of %s: %v", template, err)
		}
		return string(b)
	}
	gomod := read("go.mod")
	if modulePath([]byte(gomod)) != module {
		t.Errorf("go.mod: module is %q, want %q", modulePath([]byte(gomod)), module)
	}
	if strings.Contains(gomod, "=> ../") || strings.Contains(gomod, "=> ./") {
		t.Errorf("go.mod keeps a relative replace:\n%s", gomod)
	}
	for _, f := range []string{"Makefile", "package.json", "scripts/e2e-setup.sh", "web/package.json", "web/dist/.keep", "main.go"} {
		read(f)
	}
	mk := read("Makefile")
	for _, target := range []string{"build:", "test:", "run:"} {
		if !strings.Contains(mk, "\n"+target) {
			t.Errorf("Makefile has no %s target", strings.TrimSuffix(target, ":"))
		}
	}
	if strings.Contains(read("web/tsconfig.json"), "../../../") {
		t.Errorf("web/tsconfig.json still points into the checkout")
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err == nil { // the contract test requires one
		if !strings.HasPrefix(read("README.md"), "# my"+template+"\n") {
			t.Errorf("README.md is not renamed")
		}
	}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(appsModule+template)) {
			t.Errorf("%s still imports %s", p, appsModule+template)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkForkIdentity runs the fork's binary with -h: its usage names the fork,
// its default data directory is the fork's, and its default address has the
// port Fork chose (not the template's).
func checkForkIdentity(t *testing.T, bin, name string, port int) {
	t.Helper()
	if port < firstForkPort || slices.Contains(templatePorts, port) {
		t.Errorf("fork port %d: want one of its own, from %d on", port, firstForkPort)
	}
	cmd := exec.Command(bin, "-h")
	cmd.Dir = t.TempDir()
	out, _ := cmd.CombinedOutput()
	for _, want := range []string{"Usage: " + name + " ", "Serves the " + name + " app", "data/" + name, fmt.Sprintf(":%d", port)} {
		if !strings.Contains(string(out), want) {
			t.Errorf("%s -h lacks %q:\n%s", name, want, out)
		}
	}
}

// checkForkLock checks the fork's package-lock.json: its workspaces and their
// links, every dependency of the front end, and nothing of the other apps.
func checkForkLock(t *testing.T, dir, template string) {
	t.Helper()
	var lock struct {
		Name     string                     `json:"name"`
		Packages map[string]json.RawMessage `json:"packages"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatalf("the fork has no package-lock.json: %v", err)
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatal(err)
	}
	var web struct {
		Name         string            `json:"name"`
		Dependencies map[string]string `json:"dependencies"`
	}
	wb, _ := os.ReadFile(filepath.Join(dir, "web", "package.json"))
	if err := json.Unmarshal(wb, &web); err != nil {
		t.Fatal(err)
	}
	want := []string{"", "web", "shared", "node_modules/" + web.Name, "node_modules/@warren/shared", "node_modules/esbuild"}
	for dep := range web.Dependencies {
		want = append(want, "node_modules/"+dep)
	}
	for _, loc := range want {
		if _, ok := lock.Packages[loc]; !ok {
			t.Errorf("package-lock.json lacks %q", loc)
		}
	}
	for loc := range lock.Packages {
		if strings.HasPrefix(loc, "apps/") || strings.HasPrefix(loc, "node_modules/@warren/") && loc != "node_modules/@warren/shared" {
			t.Errorf("package-lock.json keeps the checkout's %q", loc)
		}
	}
}

func TestForkRejects(t *testing.T) {
	root := checkout(t)
	tmp := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmp, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"unknown template", Options{Template: "nope", Module: "example.com/a", Dir: filepath.Join(tmp, "a")}, "unknown template"},
		{"template path", Options{Template: "../runtime", Module: "example.com/a", Dir: filepath.Join(tmp, "a")}, "unknown template"},
		{"bad module", Options{Template: "chat", Module: "example.com/a b", Dir: filepath.Join(tmp, "b")}, "invalid module path"},
		{"non-empty dir", Options{Template: "chat", Module: "example.com/a", Dir: tmp}, "not empty"},
		{"not a checkout", Options{Checkout: tmp, Template: "chat", Module: "example.com/a", Dir: filepath.Join(tmp, "c")}, "not a Warren checkout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.o.Checkout == "" {
				tc.o.Checkout = root
			}
			_, err := Fork(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Fork: %v, want an error containing %q", err, tc.want)
			}
			if tc.want != "not empty" {
				if _, err := os.Stat(tc.o.Dir); err == nil {
					t.Errorf("a failed fork left %s behind", tc.o.Dir)
				}
			}
		})
	}
}

func TestFindCheckout(t *testing.T) {
	root := checkout(t)
	got, err := FindCheckout(filepath.Join(root, "apps", "chat"))
	if err != nil || got != root {
		t.Fatalf("FindCheckout(apps/chat) = %q, %v; want %q", got, err, root)
	}
	if _, err := FindCheckout(t.TempDir()); err == nil || !strings.Contains(err.Error(), "-from") {
		t.Fatalf("FindCheckout(temp dir) = %v, want an error suggesting -from", err)
	}
}

// A template's go.mod as the go command accepts it: a replace block, a require
// with a comment, a quoted path. The fork's go.mod is checked by parsing it, so
// this pins what goMod guarantees (issue 15: go.mod is read with x/mod/modfile,
// not line by line; -runtime pins every Warren module, browsertest too).
const templateGoMod = `module "github.com/warrenhq/warren/apps/chat" // the template

go 1.26.0

require github.com/gorilla/websocket v1.5.3

require (
	github.com/warrenhq/warren/browsertest v0.0.0
	github.com/warrenhq/warren/runtime v0.0.0 // the checkout's
)

replace (
	github.com/warrenhq/warren/runtime => ../../runtime
	github.com/warrenhq/warren/browsertest => ../../browsertest
	example.com/local => "../../third party/local"
	example.com/pinned v1.0.0 => example.com/fork v1.0.1
)
`

// forkGoMod returns the fork's go.mod of templateGoMod, parsed and as text.
func forkGoMod(t *testing.T, f *forker) (*modfile.File, []byte) {
	t.Helper()
	out, err := f.goMod([]byte(templateGoMod))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", out, nil)
	if err != nil {
		t.Fatalf("fork's go.mod does not parse: %v\n%s", err, out)
	}
	return mf, out
}

func TestGoModReplacesWarrenModules(t *testing.T) {
	f := &forker{Options: Options{Module: "example.com/me/x"}, checkout: "/c d", tdir: "/c d/apps/chat"}
	mf, out := forkGoMod(t, f)
	if mf.Module.Mod.Path != "example.com/me/x" {
		t.Errorf("module %q", mf.Module.Mod.Path)
	}
	want := map[string]string{
		runtimeModule:                            "/c d/runtime",
		"github.com/warrenhq/warren/browsertest": "/c d/browsertest",
		"example.com/local":                      "/c d/third party/local",
		"example.com/pinned":                     "example.com/fork",
	}
	got := map[string]string{}
	for _, r := range mf.Replace {
		got[r.Old.Path] = r.New.Path
	}
	if !maps.Equal(got, want) {
		t.Errorf("replacements %v, want %v\n%s", got, want, out)
	}
}

func TestGoModRuntimeVersion(t *testing.T) {
	f := &forker{Options: Options{Module: "example.com/me/x", RuntimeVersion: "v0.1.0"}, checkout: "/c", tdir: "/c/apps/chat"}
	mf, out := forkGoMod(t, f)
	versions := map[string]string{}
	for _, r := range mf.Require {
		versions[r.Mod.Path] = r.Mod.Version
	}
	for m := range warrenModules {
		if versions[m] != "v0.1.0" {
			t.Errorf("%s required at %q, want v0.1.0\n%s", m, versions[m], out)
		}
	}
	for _, r := range mf.Replace {
		if _, ok := warrenModules[r.Old.Path]; ok {
			t.Errorf("%s is still replaced (=> %s) though pinned\n%s", r.Old.Path, r.New.Path, out)
		}
	}
}

func TestCommandLine(t *testing.T) {
	root := checkout(t)
	var out, errOut bytes.Buffer
	if err := run([]string{"-from", root, "-list"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "chat\n") {
		t.Errorf("-list: %q, want chat among the templates", out.String())
	}
	if err := run([]string{"-from", root, "chat"}, &out, &errOut); err == nil || !strings.Contains(errOut.String(), "Usage: warren-new") {
		t.Errorf("one argument: %v, usage %q", err, errOut.String())
	}
	dir := filepath.Join(t.TempDir(), "x")
	out.Reset()
	if err := run([]string{"-from", root, "chat", "example.com/me/x", dir}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "make run") {
		t.Errorf("output %q does not say what to do next", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Error(err)
	}
}

func TestSkip(t *testing.T) {
	for rel, want := range map[string]bool{
		"main.go":                        false,
		"web/dist/.keep":                 true, // recreated
		"web/dist/app.js":                true,
		"web/src/main.ts":                false,
		"web/node_modules/x/index.js":    true,
		"data/chat/ab/x.sqlite":          true,
		"bin/chat":                       true,
		"chat.test":                      true,
		"testdata/fuzz/FuzzX/abc":        false,
		"docs/screenshot.png":            false,
		"test-artifacts/TestA/trace.zip": true,
	} {
		if got := skip(rel); got != want {
			t.Errorf("skip(%q) = %v, want %v", rel, got, want)
		}
	}
}

func TestSourceFilesWithoutGit(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"main.go", "web/src/a.ts", "node_modules/x/y.js", "data/db.sqlite", ".git/HEAD"} {
		if err := writeFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(dir)) // not inside any repository
	got, err := sourceFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, f := range got {
		if !skip(f) {
			kept = append(kept, f)
		}
	}
	if strings.Join(kept, " ") != "main.go web/src/a.ts" {
		t.Errorf("files = %v, want main.go web/src/a.ts", kept)
	}
}

// The fork's Makefile comes from template/Makefile.tmpl (embedded): every
// placeholder is filled in and make reads it.
func TestForkMakefile(t *testing.T) {
	mk, err := forkMakefile("mychat", "chat")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(mk, []byte("{{")) || !bytes.Contains(mk, []byte("\nBIN := mychat\n")) || !bytes.HasPrefix(mk, []byte("# mychat: forked from Warren's chat template.")) {
		t.Fatalf("Makefile not filled in:\n%s", mk)
	}
	name := filepath.Join(t.TempDir(), "Makefile")
	if err := os.WriteFile(name, mk, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("make", "-n", "-f", name, "build").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "go build -o bin/$(BIN) .") && !strings.Contains(string(out), "go build -o bin/mychat .") {
		t.Fatalf("make -n build: %v\n%s", err, out)
	}
}
