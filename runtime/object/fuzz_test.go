package object_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

func FuzzIDFromString(f *testing.F) {
	rt := objecttest.New(f, object.Config{})
	c := registerCounter(f, rt.Runtime)
	f.Add(c.ns.IDFromName("x").String())
	f.Add(strings.Repeat("0", 64))
	f.Add("")
	f.Add(strings.Repeat("g", 64))
	f.Fuzz(func(t *testing.T, s string) {
		id, err := c.ns.IDFromString(s)
		if err != nil {
			return
		}
		if id.String() != s {
			t.Fatalf("IDFromString(%q).String() = %q", s, id.String())
		}
	})
}

// FuzzName checks that any name is accepted, and that its object's database lands
// inside the data directory under a path made of the ID only.
func FuzzName(f *testing.F) {
	rt := objecttest.New(f, object.Config{MaxOpen: 8})
	c := registerCounter(f, rt.Runtime)
	for _, s := range []string{"", "..", "../../etc/passwd", "a/b", "a%2Fb", "\x00", "nul\x00byte", "CON", strings.Repeat("x", 5000), "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		stub := c.ns.GetByName(name)
		if _, err := c.increment.Call(context.Background(), stub, 1); err != nil {
			t.Fatalf("name %q: %v", name, err)
		}
		path := rt.DatabasePath("counter", stub.ID())
		rel, err := filepath.Rel(rt.Dir, path)
		if err != nil || strings.HasPrefix(rel, "..") || filepath.IsAbs(rel) {
			t.Fatalf("name %q: database %s outside the data dir", name, path)
		}
		if want := filepath.Join("counter", stub.ID().String()[:2], stub.ID().String()+".sqlite"); rel != want {
			t.Fatalf("name %q: database at %s, want %s", name, rel, want)
		}
	})
}
