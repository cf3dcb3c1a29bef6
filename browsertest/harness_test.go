package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warrenhq/warren/runtime/objecttest/testapp"
)

// TestMain lets the e2e tests start this test binary as the app (testapp), and
// stops the shared browser at the end.
func TestMain(m *testing.M) {
	testapp.MainIfHelper()
	Main(m)
}

func TestLaunchConfigFromEnv(t *testing.T) {
	tests := []struct {
		env                      map[string]string
		configured, ci, mustFail bool
	}{
		{env: nil},
		{env: map[string]string{"CI": "true"}, ci: true, mustFail: true},
		{env: map[string]string{"CI": "1"}, ci: true, mustFail: true},
		{env: map[string]string{"CI": "false"}},
		{env: map[string]string{"CHROMIUM_PATH": "/x/chromium"}, configured: true, mustFail: true},
		{env: map[string]string{"PLAYWRIGHT_DRIVER_PATH": "/x/driver", "CI": "true"}, configured: true, ci: true, mustFail: true},
	}
	for _, tt := range tests {
		c := launchConfigFromEnv(func(k string) string { return tt.env[k] })
		if c.configured != tt.configured || c.ci != tt.ci || c.mustFail() != tt.mustFail {
			t.Errorf("env %v: configured %v ci %v mustFail %v, want %v %v %v",
				tt.env, c.configured, c.ci, c.mustFail(), tt.configured, tt.ci, tt.mustFail)
		}
		o := c.launchOptions()
		if got := o.ExecutablePath != nil; got != (tt.env["CHROMIUM_PATH"] != "") {
			t.Errorf("env %v: ExecutablePath set = %v", tt.env, got)
		}
		if ro := c.runOptions(); ro.DriverDirectory != tt.env["PLAYWRIGHT_DRIVER_PATH"] || !ro.SkipInstallBrowsers {
			t.Errorf("env %v: run options %+v", tt.env, ro)
		}
	}
	if args := strings.Join((launchConfig{}).launchOptions().Args, " "); !strings.Contains(args, "--disable-background-networking") {
		t.Errorf("Chromium args %q lack --disable-background-networking", args)
	}
}

func TestFileName(t *testing.T) {
	for in, want := range map[string]string{
		"alice":            "alice",
		"alice / 1":        "alice_1",
		"../../etc":        "etc",
		"":                 "_",
		"TestX/sub_case#1": "TestX_sub_case_1",
		"é":                "_",
	} {
		if got := fileName(in); got != want {
			t.Errorf("fileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDefaultArtifactsDir(t *testing.T) {
	wd, _ := os.Getwd()
	root := repoRoot(wd)
	got := defaultArtifactsDir("TestA/sub case")
	rel, _ := filepath.Rel(root, wd)
	if want := filepath.Join(root, "test-artifacts", rel, "TestA", "sub_case"); got != want {
		t.Errorf("default = %q, want %q", got, want)
	}
	arts := t.TempDir()
	t.Setenv("WARREN_TEST_ARTIFACTS", arts)
	if got, want := defaultArtifactsDir("TestB"), filepath.Join(arts, rel, "TestB"); got != want {
		t.Errorf("with WARREN_TEST_ARTIFACTS = %q, want %q", got, want)
	}
}

func TestRepoRoot(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "apps", "chat", "web")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := repoRoot(sub); got != sub {
		t.Errorf("no go.work or go.mod: %q, want %q", got, sub)
	}
	os.WriteFile(filepath.Join(dir, "apps", "chat", "go.mod"), nil, 0o644)
	if got, want := repoRoot(sub), filepath.Join(dir, "apps", "chat"); got != want {
		t.Errorf("go.mod only: %q, want %q", got, want)
	}
	os.WriteFile(filepath.Join(dir, "go.work"), nil, 0o644)
	if got := repoRoot(sub); got != dir {
		t.Errorf("go.work: %q, want %q", got, dir)
	}
}
