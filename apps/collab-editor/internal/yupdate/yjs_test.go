package yupdate

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/nodetest"
)

// yjsRun is the output of testdata/gen.mjs.
type yjsRun struct {
	Updates []string `json:"updates"`
	Bases   []string `json:"bases"`
	Text    string   `json:"text"`
	Map     any      `json:"map"`
	Array   any      `json:"array"`
}

// yjsDoc is what testdata/apply.mjs reports of a doc.
type yjsDoc struct {
	Text    string `json:"text"`
	Map     any    `json:"map"`
	Array   any    `json:"array"`
	Pending bool   `json:"pending"`
}

// generate runs testdata/gen.mjs for seeds first to first+runs-1 (with strings
// of the BMP only when bmp is set).
func generate(t *testing.T, node *nodetest.Node, first, runs, ops int, bmp bool) []yjsRun {
	t.Helper()
	args := []string{fmt.Sprint(first), fmt.Sprint(runs), fmt.Sprint(ops)}
	if bmp {
		args = append(args, "bmp")
	}
	out, err := node.Run(t, time.Minute, "testdata/gen.mjs", args...)
	if err != nil {
		t.Fatalf("gen: %v\n%s", err, out)
	}
	var rs []yjsRun
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatal(err)
	}
	return rs
}

// applyInYjs applies each list of updates to a fresh Yjs doc.
func applyInYjs(t *testing.T, node *nodetest.Node, lists [][][]byte) []yjsDoc {
	t.Helper()
	enc := make([][]string, len(lists))
	for i, l := range lists {
		for _, u := range l {
			enc[i] = append(enc[i], base64.StdEncoding.EncodeToString(u))
		}
	}
	b, _ := json.Marshal(enc)
	f := filepath.Join(t.TempDir(), "lists.json")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := node.Run(t, time.Minute, "testdata/apply.mjs", f)
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	var docs []yjsDoc
	if err := json.Unmarshal([]byte(out), &docs); err != nil {
		t.Fatal(err)
	}
	return docs
}

func mustParse(t testing.TB, b []byte) *Update {
	t.Helper()
	u, err := Parse(b)
	if err != nil {
		t.Fatalf("parse %x: %v", b, err)
	}
	return u
}

func mustMerge(t testing.TB, us ...*Update) *Update {
	t.Helper()
	m, err := Merge(us...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAgainstYjs: random concurrent edits in real Yjs (npm yjs). Every update
// they emit, merged here in one go, in two halves merged again, or diffed
// against a doc's state midway and applied on top of it, gives a fresh Yjs doc
// the same document as all the updates applied one by one, with nothing
// pending, and Text reads its text. Two thirds of the updates (some structs
// then cannot be integrated) merged give Yjs what they give it one by one, and
// Text reads what Yjs shows. (The reference is the replay, not the editing docs:
// a doc that splits a surrogate pair shows U+FFFD that its updates do not carry.
// With such splits, docs hold different content under one ID, and the replay of
// an incomplete set depends on which one Yjs integrates first: the runs that
// check the text of two thirds use BMP strings only.)
func TestAgainstYjs(t *testing.T) {
	node := nodetest.Require(t, "yjs")
	runs := append(generate(t, node, 1, 5, 300, false), generate(t, node, 101, 3, 300, true)...)
	type check struct {
		run                yjsRun
		bmp                bool
		merged, someMerged *Update
		first, n           int // its lists
	}
	var checks []check
	var lists [][][]byte
	for i, run := range runs {
		var us, some []*Update
		var raw, someRaw [][]byte
		for j, s := range run.Updates {
			b, _ := base64.StdEncoding.DecodeString(s)
			u := mustParse(t, b)
			us, raw = append(us, u), append(raw, b)
			if j%3 != 1 {
				some, someRaw = append(some, u), append(someRaw, b)
			}
		}
		m := mustMerge(t, us...)
		if again := mustMerge(t, m, m); string(again.Bytes()) != string(m.Bytes()) {
			t.Errorf("merging a merged state with itself changed it")
		}
		k := len(us) / 3
		halves := mustMerge(t, mustMerge(t, us[:k]...), mustMerge(t, us[k:]...))
		c := check{run: run, bmp: i >= 5, merged: m, someMerged: mustMerge(t, some...), first: len(lists)}
		lists = append(lists, raw, [][]byte{m.Bytes()}, [][]byte{halves.Bytes()})
		for _, s := range run.Bases {
			b, _ := base64.StdEncoding.DecodeString(s)
			lists = append(lists, [][]byte{b, m.Diff(mustParse(t, b).StateVector())})
		}
		lists = append(lists, someRaw, [][]byte{c.someMerged.Bytes()})
		c.n = len(lists) - c.first
		checks = append(checks, c)
		t.Logf("%d updates, %d bytes merged into %d (%d structs)", len(us), totalLen(us), len(m.Bytes()), m.Structs())
	}
	var quad []*Update
	for _, b := range quadraticText(60) {
		quad = append(quad, mustParse(t, b))
	}
	quadMerged := mustMerge(t, quad...)
	lists = append(lists, [][]byte{quadMerged.Bytes()})
	docs := applyInYjs(t, node, lists)
	if text, err := Text(quadMerged, "content", 1e6); err != nil || text != docs[len(docs)-1].Text {
		t.Errorf("the quadratic case: Text = %q, %v\nYjs shows %q", text, err, docs[len(docs)-1].Text)
	}
	for i, c := range checks {
		ds := docs[c.first : c.first+c.n]
		replay, someReplay, someMerged := ds[0], ds[len(ds)-2], ds[len(ds)-1]
		if replay.Pending || !reflect.DeepEqual(replay.Map, c.run.Map) || !reflect.DeepEqual(replay.Array, c.run.Array) {
			t.Fatalf("run %d: the replay of Yjs' own updates differs from the editing docs: %+v", i, replay)
		}
		for j, d := range ds[1 : len(ds)-2] {
			if !reflect.DeepEqual(d, replay) {
				t.Errorf("run %d, list %d: Yjs shows pending=%v, text equal %v, map equal %v, array equal %v\n got %q\nwant %q", i, j+1, d.Pending, d.Text == replay.Text,
					reflect.DeepEqual(d.Map, replay.Map), reflect.DeepEqual(d.Array, replay.Array), d.Text, replay.Text)
			}
		}
		if text, err := Text(c.merged, "content", 1<<30); err != nil || text != replay.Text {
			t.Errorf("run %d: Text = %q, %v\nYjs shows %q", i, text, err, replay.Text)
		}
		if !c.bmp {
			someMerged.Text, someReplay.Text = "", ""
		}
		if !reflect.DeepEqual(someMerged, someReplay) {
			t.Errorf("run %d: two thirds of the updates merged show %+v in Yjs, one by one %+v", i, someMerged, someReplay)
		}
		if text, err := Text(c.someMerged, "content", 1<<30); err != nil || text != ds[len(ds)-1].Text {
			t.Errorf("run %d: Text of two thirds = %q, %v\nYjs shows %q", i, text, err, ds[len(ds)-1].Text)
		}
	}
}

func totalLen(us []*Update) int {
	n := 0
	for _, u := range us {
		n += len(u.Bytes())
	}
	return n
}
