package object_test

import (
	"context"
	"errors"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// FuzzListObjectsInput feeds the admin API's listing parameters (cursor, prefix,
// sort) and object references as an operator's client sends them: the listing either
// answers or fails with ErrInvalidArgument, never panics; a reference always resolves
// to an ID of the namespace.
func FuzzListObjectsInput(f *testing.F) {
	rt := objecttest.New(f, object.Config{})
	nb := registerNotebook(f, rt.Runtime, "notebook")
	for _, n := range []string{"a", "b", "c"} {
		if _, err := nb.add.Call(context.Background(), nb.ns.GetByName(n), "x"); err != nil {
			f.Fatal(err)
		}
	}
	first, err := rt.ListObjects(context.Background(), "notebook", object.ObjectListOptions{Limit: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(first.Next, "", "name", "a")
	f.Add("size.12.zz", "r", "size", "0000")
	f.Add("activity.-1."+first.Objects[0].ID, "\xff", "activity", first.Objects[0].ID)
	f.Fuzz(func(t *testing.T, cursor, prefix, sort, ref string) {
		_, err := rt.ListObjects(context.Background(), "notebook", object.ObjectListOptions{Cursor: cursor, Prefix: prefix, Sort: sort, Limit: 2})
		if err != nil && !errors.Is(err, object.ErrInvalidArgument) {
			t.Fatalf("cursor %q prefix %q sort %q: %v", cursor, prefix, sort, err)
		}
		id, err := rt.ParseObject("notebook", ref)
		if ref != "" && (err != nil || id.IsZero()) {
			t.Fatalf("ref %q: %v", ref, err)
		}
	})
}
