package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
)

// The template contract: what every app under apps/ must have to be a template of the
// gallery (see DESIGN.md, "What every app binary has in common"). Each check names
// the app and the missing piece.

// defaultAddrs are the documented default listen addresses.
var defaultAddrs = map[string]string{
	"chat":              "127.0.0.1:8787",
	"multiplayer-globe": ":8788",
	"collab-editor":     ":8789",
	"dashboard":         ":8790",
}

// readmeSections are the README headings every app has, matched as "## <prefix>..."
// case-insensitively, alternatives separated by "|" (what the app does comes before
// them, under the title).
var readmeSections = []string{"Run", "Protocol|API", "Fork", "Test", "Load"}

// pending lists contract checks an app is known not to pass yet, while it is being
// finished: they are reported in the log instead of failing. Remove an entry when
// its app passes the check (the test says so).
var pending = map[string][]string{}

type contractCheck struct {
	name string
	run  func(c *contract) error
}

type contract struct {
	root, app, dir string
	t              *testing.T
}

func (c *contract) read(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		return "", fmt.Errorf("missing %s", name)
	}
	return string(b), nil
}

var contractChecks = []contractCheck{
	{"main.go", func(c *contract) error {
		s, err := c.read("main.go")
		if err == nil && !strings.Contains(s, "package main") {
			err = fmt.Errorf("main.go is not package main")
		}
		return err
	}},
	{"go.mod", func(c *contract) error {
		s, err := c.read("go.mod")
		if err != nil {
			return err
		}
		mf, err := modfile.Parse("go.mod", []byte(s), nil)
		if err != nil {
			return err
		}
		if want := appsModule + c.app; mf.Module.Mod.Path != want {
			return fmt.Errorf("go.mod: module %q, want %q", mf.Module.Mod.Path, want)
		}
		// Every Warren module it requires is replaced with the checkout's folder.
		replaced := map[string]string{}
		for _, r := range mf.Replace {
			replaced[r.Old.Path] = r.New.Path
		}
		for _, r := range mf.Require {
			if folder, ok := warrenModules[r.Mod.Path]; ok && replaced[r.Mod.Path] != "../../"+folder {
				return fmt.Errorf("go.mod: no `replace %s => ../../%s`", r.Mod.Path, folder)
			}
		}
		if _, ok := replaced[runtimeModule]; !ok {
			return fmt.Errorf("go.mod: no `replace %s => ../../runtime`", runtimeModule)
		}
		wb, err := os.ReadFile(filepath.Join(c.root, "go.work"))
		if err != nil {
			return err
		}
		w, err := modfile.ParseWork("go.work", wb, nil)
		if err != nil {
			return err
		}
		for _, u := range w.Use {
			if u.Path == "./apps/"+c.app {
				return nil
			}
		}
		return fmt.Errorf("go.work does not use ./apps/%s", c.app)
	}},
	{"app literal", func(c *contract) error {
		// warren-new names the fork's binary and picks its port through this literal.
		files, _ := filepath.Glob(filepath.Join(c.dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, _ := os.ReadFile(f)
			for _, m := range appNameRE.FindAllSubmatch(b, -1) {
				if string(m[2]) == c.app && appAddrRE.Match(b) {
					return nil
				}
			}
		}
		return fmt.Errorf("no server.App{Name: %q, Addr: \"...\", ...} literal in the app's Go files (warren-new renames the fork through it)", c.app)
	}},
	{"README", func(c *contract) error {
		s, err := c.read("README.md")
		if err != nil {
			return err
		}
		var missing []string
		for _, sec := range readmeSections {
			if !regexp.MustCompile(`(?mi)^##\s+(` + sec + `)`).MatchString(s) {
				missing = append(missing, "## "+sec+"…")
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("README.md lacks the sections %s", strings.Join(missing, ", "))
		}
		return nil
	}},
	{"screenshot", func(c *contract) error {
		s, err := c.read("README.md")
		if err != nil {
			return err
		}
		m := regexp.MustCompile(`!\[[^\]]*\]\(([^)\s]+\.png)\)`).FindStringSubmatch(s)
		if m == nil {
			return fmt.Errorf("README.md shows no screenshot (![...](docs/screenshot.png), made by the browser tests)")
		}
		if _, err := os.Stat(filepath.Join(c.dir, filepath.FromSlash(m[1]))); err != nil {
			return fmt.Errorf("README.md shows %s, which does not exist", m[1])
		}
		return nil
	}},
	{"web", func(c *contract) error {
		s, err := c.read("web/package.json")
		if err != nil {
			return err
		}
		if !regexp.MustCompile(`"build"\s*:`).MatchString(s) {
			return fmt.Errorf("web/package.json has no build script")
		}
		if _, err := c.read("web/dist/.keep"); err != nil {
			return fmt.Errorf("missing web/dist/.keep (go:embed needs web/dist on a clean clone)")
		}
		return nil
	}},
	{"browser test", func(c *contract) error {
		s, err := c.read("e2e_test.go")
		if err != nil {
			return fmt.Errorf("missing e2e_test.go (browser tests)")
		}
		if !strings.HasPrefix(s, "//go:build e2e\n") {
			return fmt.Errorf("e2e_test.go does not start with //go:build e2e")
		}
		if !regexp.MustCompile(`(?m)^func Test\w*\(t \*testing\.T\)`).MatchString(s) {
			return fmt.Errorf("e2e_test.go has no test function")
		}
		return nil
	}},
	{"load scenario", func(c *contract) error {
		files, _ := filepath.Glob(filepath.Join(c.root, "loadtest", "internal", "scenario", "*.go"))
		re := regexp.MustCompile(`Name:\s*"` + regexp.QuoteMeta(c.app) + `"`)
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && re.Match(b) {
				return nil
			}
		}
		return fmt.Errorf("no load scenario named %q in loadtest/internal/scenario", c.app)
	}},
	{"make target", func(c *contract) error {
		cmd := exec.Command("make", "-n", "-s", c.app)
		cmd.Dir = c.root
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "./bin/"+c.app) {
			return fmt.Errorf("`make %s` does not build and run ./bin/%s: %v\n%s", c.app, c.app, err, out)
		}
		return nil
	}},
	{"flags", func(c *contract) error {
		bin := filepath.Join(c.t.TempDir(), c.app)
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Dir = c.dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
		help := exec.Command(bin, "-h")
		help.Dir = c.t.TempDir()
		done := make(chan struct{})
		var out []byte
		var err error
		go func() { out, err = help.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			help.Process.Kill()
			<-done
			return fmt.Errorf("%s -h did not exit", c.app)
		}
		if ee, ok := err.(*exec.ExitError); err != nil && !(ok && ee.ExitCode() == 0) {
			return fmt.Errorf("%s -h: %v\n%s", c.app, err, out)
		}
		s := string(out)
		var missing []string
		for _, want := range []string{"-addr", "-data", defaultAddrs[c.app], "data/" + c.app, "WARREN_ADDR", "WARREN_DATA"} {
			if want != "" && !strings.Contains(s, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("%s -h does not mention %s:\n%s", c.app, strings.Join(missing, ", "), s)
		}
		return nil
	}},
}

// TestTemplateContract checks every app of the checkout against the contract.
func TestTemplateContract(t *testing.T) {
	root := checkout(t)
	names, err := Templates(root)
	if err != nil || len(names) == 0 {
		t.Fatalf("no apps in %s/apps: %v", root, err)
	}
	for app := range pending {
		if !slices.Contains(names, app) {
			t.Errorf("pending lists %s, which is not an app", app)
		}
	}
	for _, app := range names {
		t.Run(app, func(t *testing.T) {
			c := &contract{root: root, app: app, dir: filepath.Join(root, "apps", app), t: t}
			for _, check := range contractChecks {
				err := check.run(c)
				known := slices.Contains(pending[app], check.name)
				switch {
				case err != nil && known:
					t.Logf("app %s, %s (pending): %v", app, check.name, err)
				case err != nil:
					t.Errorf("app %s, %s: %v", app, check.name, err)
				case known:
					t.Logf("app %s now passes %q: remove it from pending in contract_test.go", app, check.name)
				}
			}
		})
	}
}
