package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// A checkout of two apps, a and b, that need different versions of lib: b's
// is hoisted, a's nested under its workspace. A fork of a must get a's lib
// (moved under the fork's web/), what lib needs, the root's tools, and
// nothing of b; the dev and optional flags must describe the fork.
const twoAppLock = `{
  "name": "warren", "lockfileVersion": 3, "requires": true,
  "packages": {
    "": {"name": "warren", "workspaces": ["web/*", "apps/*/web"], "devDependencies": {"tool": "^1"}},
    "apps/a/web": {"name": "@warren/a-web", "version": "0.0.0", "dependencies": {"@warren/shared": "*", "lib": "^1"}},
    "apps/a/web/node_modules/lib": {"version": "1.0.0", "integrity": "sha512-lib1", "dependencies": {"dep": "^1"}, "optionalDependencies": {"opt": "^1", "gone": "^1"}},
    "apps/b/web": {"name": "@warren/b-web", "version": "0.0.0", "dependencies": {"lib": "^2", "other": "^1"}},
    "node_modules/@warren/a-web": {"resolved": "apps/a/web", "link": true},
    "node_modules/@warren/b-web": {"resolved": "apps/b/web", "link": true},
    "node_modules/@warren/shared": {"resolved": "web/shared", "link": true},
    "node_modules/dep": {"version": "1.0.0", "integrity": "sha512-dep", "license": "MIT"},
    "node_modules/lib": {"version": "2.0.0", "integrity": "sha512-lib2"},
    "node_modules/opt": {"version": "1.0.0", "integrity": "sha512-opt", "optional": true, "os": ["linux"]},
    "node_modules/other": {"version": "1.0.0", "integrity": "sha512-other"},
    "node_modules/tool": {"version": "1.0.0", "integrity": "sha512-tool", "dev": true, "dependencies": {"dep": "^1", "only-dev": "^1"}},
    "node_modules/only-dev": {"version": "1.0.0", "integrity": "sha512-od", "dev": true},
    "web/shared": {"name": "@warren/shared", "version": "0.0.0"}
  }
}`

func TestForkLockCutsTheTemplatesPackages(t *testing.T) {
	root := orderedJSON{{"name", mustJSON("my")}, {"workspaces", mustJSON([]string{"web", "shared"})}, {"devDependencies", mustJSON(map[string]string{"tool": "^1"})}}
	out, err := forkLock([]byte(twoAppLock), root,
		map[string]string{"web": "apps/a/web", "shared": "web/shared"},
		map[string]string{"web": "my-web", "shared": "@warren/shared"})
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Name     string                    `json:"name"`
		Packages map[string]map[string]any `json:"packages"`
	}
	if err := json.Unmarshal(out, &lock); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var locs []string
	for loc := range lock.Packages {
		locs = append(locs, loc)
	}
	slices.Sort(locs)
	want := []string{"", "node_modules/@warren/shared", "node_modules/dep", "node_modules/my-web", "node_modules/only-dev", "node_modules/opt", "node_modules/tool", "shared", "web", "web/node_modules/lib"}
	if !slices.Equal(locs, want) {
		t.Fatalf("packages %v,\nwant %v\n%s", locs, want, out)
	}
	p := lock.Packages
	if lock.Name != "my" || p["web"]["name"] != "my-web" || p["node_modules/my-web"]["resolved"] != "web" || p["node_modules/@warren/shared"]["resolved"] != "shared" {
		t.Errorf("names and links wrong:\n%s", out)
	}
	if p["web/node_modules/lib"]["version"] != "1.0.0" {
		t.Errorf("the fork got lib %v, want the template's 1.0.0", p["web/node_modules/lib"]["version"])
	}
	flags := func(loc string) string {
		var f []string
		for _, k := range []string{"dev", "optional", "devOptional", "peer"} {
			if p[loc][k] == true {
				f = append(f, k)
			}
		}
		return strings.Join(f, ",")
	}
	for loc, want := range map[string]string{
		"node_modules/dep":      "", // reached from the app (production) and from the dev tool
		"node_modules/tool":     "dev",
		"node_modules/only-dev": "dev",
		"node_modules/opt":      "optional",
		"web/node_modules/lib":  "",
	} {
		if got := flags(loc); got != want {
			t.Errorf("%s flags %q, want %q", loc, got, want)
		}
	}
	// Fields npm wrote survive in its order.
	if !strings.Contains(string(out), `"node_modules/opt": {
      "version": "1.0.0",
      "integrity": "sha512-opt",
      "optional": true,
      "os": [`) {
		t.Errorf("entry of opt rewritten:\n%s", out)
	}
}

func TestForkLockMissingPackage(t *testing.T) {
	broken := strings.Replace(twoAppLock, `"node_modules/dep": {"version": "1.0.0", "integrity": "sha512-dep", "license": "MIT"},`, "", 1)
	_, err := forkLock([]byte(broken), orderedJSON{{"name", mustJSON("my")}}, map[string]string{"web": "apps/a/web"}, map[string]string{"web": "my-web"})
	if err == nil || !strings.Contains(err.Error(), "dep (needed by") || !strings.Contains(err.Error(), "npm install") {
		t.Fatalf("forkLock with a package missing: %v, want an error naming it", err)
	}
}
