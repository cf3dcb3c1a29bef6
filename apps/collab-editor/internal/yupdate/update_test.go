package yupdate

import (
	"errors"
	"strings"
	"testing"

	"github.com/warrenhq/warren/apps/collab-editor/internal/lib0"
)

// item is one struct of a hand-made update: an item of content type ref at the
// start of the root text, with the content bytes given.
func oneItem(client uint64, clock uint64, ref byte, content []byte) []byte {
	b := []byte{1, 1}
	b = lib0.AppendUint(b, client)
	b = lib0.AppendUint(b, clock)
	b = append(b, ref, 1)
	b = lib0.AppendString(b, "content")
	b = append(b, content...)
	return append(b, 0)
}

// TestParseRejects: what a Yjs client would fail on, or what would make Go and
// JavaScript disagree on lengths, is refused before anything stores or relays
// it.
func TestParseRejects(t *testing.T) {
	str := func(s string) []byte { return lib0.AppendString(nil, s) }
	twice := append([]byte{2}, oneItem(5, 0, refString, str("a"))[1:len(oneItem(5, 0, refString, str("a")))-1]...)
	twice = append(twice, oneItem(5, 1, refString, str("b"))[1:]...)
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"a client twice", twice},
		{"invalid UTF-8", oneItem(5, 0, refString, lib0.AppendBytes(nil, []byte{0xe2, 0x82}))},
		{"a lone surrogate in UTF-8", oneItem(5, 0, refString, lib0.AppendBytes(nil, []byte{0xed, 0xa0, 0x80}))},
		{"an empty string item", oneItem(5, 0, refString, str(""))},
		{"JSON content that is not JSON", oneItem(5, 0, refJSON, append([]byte{1}, str("{nope")...))},
		{"an embed that is not JSON", oneItem(5, 0, refEmbed, str("{"))},
		{"a format value that is not JSON", oneItem(5, 0, refFormat, append(str("bold"), str("tru")...))},
		{"content type 11", oneItem(5, 0, 11, nil)},
		{"type reference 7", oneItem(5, 0, refType, []byte{7})},
		{"subdocument options not an object", oneItem(5, 0, refDoc, append(str("guid"), 126))},
		{"a clock past MaxClock", oneItem(5, MaxClock, refString, str("a"))},
		{"a deletion past MaxClock", []byte{0, 1, 5, 1, 0x80, 0x80, 0x80, 0x02, 1}},
		{"a struct count past the end", []byte{1, 0x7f, 5, 0, 4}},
		{"an any nested too deep", oneItem(5, 0, refAny, append([]byte{1}, []byte(strings.Repeat("\x75\x01", lib0.MaxAnyDepth+2))...))},
		{"truncated", oneItem(5, 0, refString, str("abc"))[:12]},
	} {
		if _, err := Parse(c.b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s (%x): %v, want ErrMalformed", c.name, c.b, err)
		}
	}
	for _, ok := range [][]byte{
		oneItem(5, 0, refJSON, append([]byte{2}, append(str("undefined"), str(`{"a":1}`)...)...)),
		oneItem(5, 0, refType, []byte{3, 1, 'p'}), // an XML element and its name
		oneItem(5, 0, refString, str("😀")),
	} {
		if _, err := Parse(ok); err != nil {
			t.Errorf("%x: %v", ok, err)
		}
	}
}

// TestTextBudget: the quadratic case of Yjs' integration (many items inserted
// concurrently at one place, each scanning the others) stops at the budget.
func TestTextBudget(t *testing.T) {
	var us []*Update
	for _, b := range quadraticText(300) {
		us = append(us, mustParse(t, b))
	}
	m := mustMerge(t, us...)
	if _, err := Text(m, "content", 50_000); !errors.Is(err, ErrTooComplex) {
		t.Fatalf("Text within 50,000 steps: %v, want ErrTooComplex", err)
	}
	text, err := Text(m, "content", 10_000_000)
	if err != nil || len(text) != 901 {
		t.Fatalf("Text = %d characters, %v", len(text), err)
	}
}
