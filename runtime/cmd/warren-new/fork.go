package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

const (
	runtimeModule = "github.com/warrenhq/warren/runtime"
	appsModule    = "github.com/warrenhq/warren/apps/"
	sharedPackage = "@warren/shared"
)

// warrenModules are the checkout's library modules a template may require, and
// their folders in the checkout: a fork replaces them with those folders, or
// requires them at RuntimeVersion.
var warrenModules = map[string]string{
	runtimeModule:                            "runtime",
	"github.com/warrenhq/warren/browsertest": "browsertest",
}

// Options says what to fork where.
type Options struct {
	Checkout       string // the Warren checkout holding runtime/ and apps/
	Template       string // an app: apps/<Template>
	Module         string // the fork's Go module path
	Dir            string // the fork's directory; must not exist or be empty
	RuntimeVersion string // if set, require Warren's modules (warrenModules) at this version instead of replacing them with the checkout's folders
	// Port is the fork's default listen port; 0 picks the first free one from 8791
	// on (the templates use 8787 to 8790).
	Port int
}

// Result describes a finished fork.
type Result struct {
	Dir      string   // absolute
	Port     int      // the fork's default listen port
	Warnings []string // things the fork may need fixed by hand
}

// FindCheckout returns the nearest ancestor of dir (dir included) that is a Warren
// checkout: it holds runtime/go.mod declaring the runtime module, and apps/.
func FindCheckout(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if isCheckout(d) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no Warren checkout (a directory with runtime/go.mod and apps/) at or above %s: run warren-new inside a clone of the Warren repository, or pass -from DIR", dir)
		}
	}
}

func isCheckout(d string) bool {
	b, err := os.ReadFile(filepath.Join(d, "runtime", "go.mod"))
	if err != nil || modulePath(b) != runtimeModule {
		return false
	}
	fi, err := os.Stat(filepath.Join(d, "apps"))
	return err == nil && fi.IsDir()
}

// Templates lists the apps of a checkout: every apps/<name>/go.mod.
func Templates(checkout string) ([]string, error) {
	ms, err := filepath.Glob(filepath.Join(checkout, "apps", "*", "go.mod"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range ms {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	slices.Sort(names)
	return names, nil
}

var modPathRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]*(/[A-Za-z0-9._~-]+)*$`)

// checkModule rejects module paths the go command would refuse or that would
// break the fork's files (quotes, spaces).
func checkModule(p string) error {
	if !modPathRE.MatchString(p) || strings.Contains(p, "..") || strings.HasSuffix(p, ".") {
		return fmt.Errorf("invalid module path %q: want something like example.com/me/mychat", p)
	}
	return nil
}

// Fork copies the template into o.Dir as a standalone module. See the package doc.
func Fork(o Options) (*Result, error) {
	if err := checkModule(o.Module); err != nil {
		return nil, err
	}
	checkout, err := filepath.Abs(o.Checkout)
	if err != nil {
		return nil, err
	}
	if !isCheckout(checkout) {
		return nil, fmt.Errorf("%s is not a Warren checkout (no runtime/go.mod or apps/)", checkout)
	}
	tdir := filepath.Join(checkout, "apps", o.Template)
	if _, err := os.Stat(filepath.Join(tdir, "go.mod")); o.Template == "" || strings.ContainsAny(o.Template, `/\`) || err != nil {
		names, _ := Templates(checkout)
		return nil, fmt.Errorf("unknown template %q (templates: %s)", o.Template, strings.Join(names, ", "))
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(tdir, dir); err == nil && !strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("the fork's directory %s is inside the template", dir)
	}
	created := false
	switch ents, err := os.ReadDir(dir); {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		created = true
	case err != nil:
		return nil, err
	case len(ents) > 0:
		return nil, fmt.Errorf("%s exists and is not empty", dir)
	}
	if o.Port == 0 {
		if o.Port, err = freePort(); err != nil {
			return nil, err
		}
	}
	f := &forker{Options: o, checkout: checkout, tdir: tdir, dir: dir, base: path.Base(o.Module)}
	if err := f.run(); err != nil {
		if created {
			os.RemoveAll(dir)
		}
		return nil, err
	}
	return &Result{Dir: dir, Port: o.Port, Warnings: f.warnings}, nil
}

type forker struct {
	Options
	checkout, tdir, dir string
	base                string // the module path's last element: binary and package names
	renamed             int    // server.App literals renamed to base
	warnings            []string
	webDeps             map[string]string
}

func (f *forker) warnf(format string, args ...any) {
	f.warnings = append(f.warnings, fmt.Sprintf(format, args...))
}

func (f *forker) run() error {
	files, err := sourceFiles(f.tdir)
	if err != nil {
		return err
	}
	for _, rel := range files {
		if skip(rel) {
			continue
		}
		src := filepath.Join(f.tdir, filepath.FromSlash(rel))
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted but still tracked, or a symlink
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if isExecutable(b) {
			f.warnf("skipped %s: a compiled binary", rel)
			continue
		}
		if b, err = f.transform(rel, b); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		if err := writeFile(filepath.Join(f.dir, filepath.FromSlash(rel)), b, fi.Mode().Perm()); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(f.dir, "go.mod")); err != nil {
		return fmt.Errorf("template %s: go.mod was not copied", f.Template)
	}
	if f.renamed == 0 {
		f.warnf("no server.App{Name: %q, ...} literal found: the fork's binary still calls itself %s; set its Name and Addr by hand", f.Template, f.Template)
	}
	if err := writeFile(filepath.Join(f.dir, "web", "dist", ".keep"), nil, 0o644); err != nil {
		return err
	}
	return f.scaffold()
}

// sourceFiles lists the template's files, slash-separated and relative to dir: what
// git tracks plus untracked files it does not ignore, or a plain walk outside git.
func sourceFiles(dir string) ([]string, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = dir
	if out, err := cmd.Output(); err == nil {
		var files []string
		for _, p := range strings.Split(string(out), "\x00") {
			if p != "" && !slices.Contains(files, p) {
				files = append(files, p)
			}
		}
		if len(files) > 0 {
			return files, nil
		}
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && skipDir(rel) {
				return filepath.SkipDir
			}
			return nil
		}
		files = append(files, rel)
		return nil
	})
	return files, err
}

func skipDir(rel string) bool {
	switch path.Base(rel) {
	case ".git", "node_modules", "test-artifacts":
		return true
	}
	return rel == "data" || rel == "bin"
}

// skip reports build output and local state that a fork must not inherit.
func skip(rel string) bool {
	for d := path.Dir(rel); d != "."; d = path.Dir(d) {
		if skipDir(d) {
			return true
		}
	}
	if strings.HasPrefix(rel, "web/dist/") {
		return true // build output; .keep is recreated
	}
	return strings.HasSuffix(rel, ".test") || strings.HasSuffix(rel, ".prof")
}

func isExecutable(b []byte) bool {
	for _, magic := range [][]byte{{0x7f, 'E', 'L', 'F'}, {0xcf, 0xfa, 0xed, 0xfe}, {0xfe, 0xed, 0xfa, 0xcf}, {'M', 'Z'}} {
		if bytes.HasPrefix(b, magic) {
			return true
		}
	}
	return false
}

func writeFile(name string, b []byte, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, b, perm)
}

func (f *forker) transform(rel string, b []byte) ([]byte, error) {
	switch {
	case rel == "go.mod":
		return f.goMod(b)
	case strings.HasSuffix(rel, ".go"):
		return f.goSource(rel, b), nil
	case rel == "README.md":
		return f.readme(b), nil
	case rel == "web/package.json":
		return f.webPackage(b)
	case rel == "web/tsconfig.json":
		// The template extends the checkout's web/tsconfig.base.json; the fork has its own.
		return bytes.ReplaceAll(b, []byte(`"../../../web/`), []byte(`"../`)), nil
	case rel == ".gitignore":
		return append(b, []byte("\n# Added by warren-new\n/bin/\n/node_modules/\n/test-artifacts/\n*.test\n")...), nil
	}
	return b, nil
}

// goSource rewrites imports of the template's own packages. Tests that run npm
// clients find node_modules by searching upward (runtime/nodetest), so they need
// no rewriting: in the fork the nearest node_modules is the fork's own.
func (f *forker) goSource(rel string, b []byte) []byte {
	old := appsModule + f.Template
	b = bytes.ReplaceAll(b, []byte(`"`+old+`"`), []byte(`"`+f.Module+`"`))
	b = bytes.ReplaceAll(b, []byte(`"`+old+`/`), []byte(`"`+f.Module+`/`))
	if bytes.Contains(b, []byte(`"../`)) || bytes.Contains(b, []byte(`"..", `)) {
		f.warnf("%s refers to a path outside the app (\"../\"): check it in the fork", rel)
	}
	b, n := f.renameApp(b)
	f.renamed += n
	return b
}

var nameRE = regexp.MustCompile(`("name"\s*:\s*)"[^"]*"`)

// webName is the npm name of the fork's front-end package.
func (f *forker) webName() string { return f.base + "-web" }

// webPackage renames the front end's package and records its dependencies.
func (f *forker) webPackage(b []byte) ([]byte, error) {
	var pkg struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return nil, err
	}
	f.webDeps = map[string]string{}
	for k, v := range pkg.Dependencies {
		f.webDeps[k] = v
	}
	for k, v := range pkg.DevDependencies {
		f.webDeps[k] = v
	}
	done := false
	return nameRE.ReplaceAllFunc(b, func(m []byte) []byte {
		if done {
			return m
		}
		done = true
		return nameRE.ReplaceAll(m, []byte(`${1}"`+f.webName()+`"`))
	}), nil
}

func (f *forker) readme(b []byte) []byte {
	s := string(b)
	title, rest, _ := strings.Cut(s, "\n")
	if !strings.HasPrefix(title, "# ") {
		title, rest = "", s
	}
	note := fmt.Sprintf(`# %s

> Forked from Warren's [%s](https://github.com/warrenhq/warren/tree/main/apps/%s) template
> with warren-new. This folder is a standalone Go module, %s, with its own front
> end. Here, `+"`make run`"+` builds and serves it on http://127.0.0.1:%d (its default address;
> `+"`make run ARGS='-addr 127.0.0.1:9000'`"+` or `+"`WARREN_ADDR`"+` changes it), `+"`make test`"+` runs go vet,
> the unit tests and the browser tests, and `+"`make build`"+` writes bin/%s. `+"`package-lock.json`"+` pins
> the npm packages the template was tested with (`+"`npm_config_offline=true make build`"+` builds
> from npm's cache alone). The rest of this README is the template's: where it says
> `+"`make %s`"+` or `+"`make e2e`"+` at the repository root, or its port, use `+"`make run`"+` and `+"`make test`"+`
> here. The runtime dependency is explained at the end.
`, f.base, f.Template, f.Template, "`"+f.Module+"`", f.Port, f.base, f.Template)
	if title != "" {
		note += "\n<!-- The template's title: " + strings.TrimPrefix(title, "# ") + " -->\n"
	}
	return []byte(note + rest + runtimeSection)
}

const runtimeSection = `
## Warren runtime version

This module requires ` + "`github.com/warrenhq/warren/runtime`" + ` (and, for the browser tests,
` + "`github.com/warrenhq/warren/browsertest`" + `). A fork made from a checkout replaces them with
that checkout's folders (the ` + "`replace`" + ` lines at the end of go.mod, absolute paths), so it
builds offline and follows local changes to the runtime. To depend on a published version
instead:

` + "```sh" + `
go mod edit -dropreplace github.com/warrenhq/warren/runtime -dropreplace github.com/warrenhq/warren/browsertest
go get github.com/warrenhq/warren/runtime@v0.1.0 github.com/warrenhq/warren/browsertest@v0.1.0   # the version you want
go mod tidy
` + "```" + `

(or fork with ` + "`warren-new -runtime v0.1.0 ...`" + ` and run ` + "`go mod tidy`" + `). The browser tests'
setup script, scripts/e2e-setup.sh, reads the playwright-go version from this module's
dependencies and installs Debian's chromium with apt when it is missing.
`

// scaffold writes what the template got from the checkout's root: the npm
// workspace, the shared TypeScript config and helpers, the Makefile, the browser
// test setup script.
func (f *forker) scaffold() error {
	rootPkg, err := readPackage(filepath.Join(f.checkout, "package.json"))
	if err != nil {
		return err
	}
	workspaces := []string{"web"}
	// The fork's workspaces, the checkout's locations of the same packages, their names.
	lockWorkspaces := map[string]string{"web": "apps/" + f.Template + "/web"}
	lockNames := map[string]string{"web": f.webName()}
	if _, ok := f.webDeps[sharedPackage]; ok {
		if err := copyTree(filepath.Join(f.checkout, "web", "shared"), filepath.Join(f.dir, "shared")); err != nil {
			return fmt.Errorf("vendoring %s: %w", sharedPackage, err)
		}
		workspaces = append(workspaces, "shared")
		lockWorkspaces["shared"] = "web/shared"
		lockNames["shared"] = sharedPackage
	}
	pkg := struct {
		Name            string            `json:"name"`
		Private         bool              `json:"private"`
		Description     string            `json:"description"`
		Workspaces      []string          `json:"workspaces"`
		Scripts         map[string]string `json:"scripts"`
		Engines         map[string]string `json:"engines,omitempty"`
		DevDependencies map[string]string `json:"devDependencies"`
	}{
		Name:        f.base,
		Private:     true,
		Description: fmt.Sprintf("npm workspace of %s's front end (web/), forked from Warren's %s template.", f.base, f.Template),
		Workspaces:  workspaces,
		Scripts: map[string]string{
			"build": "npm run build --workspaces --if-present",
			"test":  "npm run test --workspaces --if-present",
		},
		Engines:         rootPkg.Engines,
		DevDependencies: rootPkg.DevDependencies,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(pkg); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(f.dir, "package.json"), buf.Bytes(), 0o644); err != nil {
		return err
	}
	lockRoot := orderedJSON{{"name", mustJSON(pkg.Name)}, {"workspaces", mustJSON(pkg.Workspaces)}, {"devDependencies", mustJSON(pkg.DevDependencies)}}
	if len(pkg.Engines) > 0 {
		lockRoot = append(lockRoot, member{"engines", mustJSON(pkg.Engines)})
	}
	if err := f.writeForkLock(lockRoot, lockWorkspaces, lockNames); err != nil {
		return fmt.Errorf("package-lock.json: %w", err)
	}
	if b, err := os.ReadFile(filepath.Join(f.checkout, "web", "tsconfig.base.json")); err == nil {
		if err := writeFile(filepath.Join(f.dir, "tsconfig.base.json"), b, 0o644); err != nil {
			return err
		}
	}
	setup, err := os.ReadFile(filepath.Join(f.checkout, "scripts", "e2e-setup.sh"))
	if err != nil {
		return err
	}
	// The checkout reads playwright-go's version in browsertest/; the fork requires it itself.
	const from = `(cd browsertest && GOWORK=off go mod download -json "$PWGO_MOD"`
	if !bytes.Contains(setup, []byte(from)) {
		return fmt.Errorf("scripts/e2e-setup.sh: cannot adapt it (no %q)", from)
	}
	setup = bytes.Replace(setup, []byte(from), []byte(`(GOWORK=off go mod download -json "$PWGO_MOD"`), 1)
	setup = bytes.ReplaceAll(setup, []byte("browsertest/go.mod"), []byte("go.mod"))
	if err := writeFile(filepath.Join(f.dir, "scripts", "e2e-setup.sh"), setup, 0o755); err != nil {
		return err
	}
	mk, err := forkMakefile(f.base, f.Template)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(f.dir, "Makefile"), mk, 0o644); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(f.dir, ".gitignore")); errors.Is(err, fs.ErrNotExist) {
		gi := "/bin/\n/data/\n/node_modules/\n/test-artifacts/\n/web/dist/*\n!/web/dist/.keep\n*.test\n"
		if err := writeFile(filepath.Join(f.dir, ".gitignore"), []byte(gi), 0o644); err != nil {
			return err
		}
	}
	return nil
}

type packageJSON struct {
	Engines         map[string]string `json:"engines"`
	DevDependencies map[string]string `json:"devDependencies"`
}

func readPackage(name string) (*packageJSON, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &p, nil
}

// copyTree copies the files of src into dst, without node_modules.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "node_modules" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(dst, rel), b, 0o644)
	})
}
