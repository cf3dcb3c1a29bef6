package yupdate

import (
	"bytes"
	"encoding/hex"
	"errors"
	"maps"
	"testing"
)

// yjsSeeds are updates written by npm yjs (testdata/gen.mjs): strings with
// non-BMP characters, formats, an embed, a map entry, array values, deletions.
var yjsSeeds = []string{
	"0101d81e00040107636f6e74656e7407c3bff09f98807a00",
	"0102cd130146cd130004626f6c64047472756586cd130004626f6c64046e756c6c00",
	"0101cd130308010161037d07770262637601016f7d0200",
	"01090a0044cd130102c3bfc40a00cd130105f09f98807ac8cd1304cd1305027d05770161c80a05cd1305017601016f7d02c40a000a010168c40a070a0109656c6c6f2078797a0ac40a070a080161c80a050a06027d01770478797a0ac10a130a0601010a011401",
	"0102bf100bc4bf1005bf10090161c5bf100abf10080c7b22696d67223a226263227d00",
	"0102bf101344bf10000262632801016d026b30017d800100",
	"0002cd13010c030a010802",
}

func seedUpdates(f *testing.F) {
	for _, s := range yjsSeeds {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Add(textAtStart(7, 20))
	f.Add(textAppended(9, 0, 5))
	f.Add(textAppended(9, 3, 5))
	f.Add([]byte{0, 0})
}

// FuzzParse: any bytes parse or fail cleanly; an update that parses merges
// (idempotently), diffs, reports the state vector its merge has, and its text
// is read within a budget without a panic.
func FuzzParse(f *testing.F) {
	seedUpdates(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		m, err := Merge(u)
		if err != nil {
			t.Fatalf("merging a valid update: %v", err)
		}
		if again, err := Merge(m, m); err != nil || !bytes.Equal(again.Bytes(), m.Bytes()) {
			t.Fatalf("merge not idempotent: %v", err)
		}
		sv := m.StateVector()
		if !maps.Equal(sv, u.StateVector()) {
			t.Fatalf("state vector %v after merging, %v before", sv, u.StateVector())
		}
		for _, rn := range mustParse(t, m.Diff(sv)).runs {
			if uint64(rn.spans[0].clock) < sv[rn.client] {
				t.Fatalf("a diff against its own state vector repeats client %d's clocks below %d", rn.client, sv[rn.client])
			}
		}
		if all, err := Merge(mustParse(t, m.Diff(nil))); err != nil || !bytes.Equal(all.Bytes(), m.Bytes()) {
			t.Fatalf("the diff against nothing is not the whole update: %v", err)
		}
		if sv2, err := DecodeStateVector(EncodeStateVector(sv)); err != nil || !maps.Equal(sv2, sv) {
			t.Fatalf("state vector round trip: %v", err)
		}
		if _, err := Text(m, "content", 1e5); err != nil && !errors.Is(err, ErrTooComplex) {
			t.Fatalf("text: %v", err)
		}
	})
}

// FuzzMergeTwo: two updates merged at once, or each merged first, give the
// same state vector and text.
func FuzzMergeTwo(f *testing.F) {
	for _, a := range yjsSeeds {
		for _, b := range yjsSeeds[:3] {
			x, _ := hex.DecodeString(a)
			y, _ := hex.DecodeString(b)
			f.Add(x, y)
		}
	}
	f.Add(textAppended(9, 0, 5), textAppended(9, 3, 5))
	f.Add(textAtStart(1, 9), textAtStart(2, 9))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ua, err1 := Parse(a)
		ub, err2 := Parse(b)
		if err1 != nil || err2 != nil {
			return
		}
		both := mustMerge(t, ua, ub)
		nested := mustMerge(t, mustMerge(t, ua), mustMerge(t, ub))
		if !maps.Equal(both.StateVector(), nested.StateVector()) {
			t.Fatalf("state vectors differ: %v, %v", both.StateVector(), nested.StateVector())
		}
		t1, err1 := Text(both, "content", 1e5)
		t2, err2 := Text(nested, "content", 1e5)
		if err1 == nil && err2 == nil && t1 != t2 {
			t.Fatalf("texts differ: %q, %q", t1, t2)
		}
	})
}
