package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeInput(t *testing.T) {
	ok := []struct {
		in   string
		want Input
	}{
		{`{"type":"input","h":90,"m":1}`, Input{Heading: 90, Moving: true}},
		{`{"type":"input","h":0,"m":0,"p":"wlt1:abc"}`, Input{Probe: "wlt1:abc"}},
		{`{"type":"input","h":359.5,"m":true}`, Input{Heading: 359.5, Moving: true}},
		{`{"type":"input","h":1e1}`, Input{Heading: 10}},
	}
	for _, c := range ok {
		got, err := DecodeInput([]byte(c.in))
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v %v, want %+v", c.in, got, err, c.want)
		}
	}
	bad := []string{
		``, `null`, `[]`, `{}`, `{"type":"input"}`, `{"type":"input","h":360}`, `{"type":"input","h":-1}`,
		`{"type":"input","h":"90"}`, `{"type":"input","h":90,"m":2}`, `{"type":"move","h":90}`,
		`{"type":"input","h":90,"p":"has space"}`, `{"type":"input","h":90,"p":"` + strings.Repeat("x", 65) + `"}`,
		`{"type":"input","h":90,"m":1,"pad":"` + strings.Repeat("x", MaxFrameBytes) + `"}`, `{"type":"input","h":NaN}`,
	}
	for _, b := range bad {
		if got, err := DecodeInput([]byte(b)); err == nil {
			t.Errorf("%.60s: accepted as %+v", b, got)
		}
	}
}

func FuzzDecodeInput(f *testing.F) {
	for _, s := range []string{`{"type":"input","h":90,"m":1}`, `{"type":"input","h":0,"m":0,"p":"wlt1:abc"}`, `{"type":"input","h":1e400}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := DecodeInput(b)
		if err != nil {
			return
		}
		if math.IsNaN(in.Heading) || in.Heading < 0 || in.Heading >= 360 || len(in.Probe) > MaxProbeBytes || len(b) > MaxFrameBytes {
			t.Fatalf("accepted out of range: %+v", in)
		}
		for _, c := range []byte(in.Probe) {
			if c < 0x21 || c > 0x7e {
				t.Fatalf("probe byte %q", c)
			}
		}
	})
}

func TestSanitizeName(t *testing.T) {
	cases := map[string]string{
		"  alice  ":                 "alice",
		"<script>alert(1)</script>": "scriptalert(1)/scrip",
		"a\u0000b\tc\nd":            "ab c d",
		"":                          "anon",
		"\xff\xfe":                  "anon",
		strings.Repeat("é", 30):     strings.Repeat("é", MaxNameRunes),
		"bob & \"eve\"":             "bob eve",
	}
	for in, want := range cases {
		if got := SanitizeName(in, "anon"); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSanitizeName(f *testing.F) {
	f.Add("alice")
	f.Add("<b>x</b>")
	f.Fuzz(func(t *testing.T, s string) {
		got := SanitizeName(s, "anon")
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > MaxNameRunes || strings.ContainsAny(got, "<>&\"'`") {
			t.Fatalf("SanitizeName(%q) = %q", s, got)
		}
		b, _ := json.Marshal(got)
		if strings.Contains(string(b), "<") {
			t.Fatal("unescaped")
		}
	})
}

func TestBucket(t *testing.T) {
	var b bucket
	n := 0
	for i := 0; i < 100; i++ {
		if b.allow(1e9) { // all at the same instant
			n++
		}
	}
	if n != InputBurst {
		t.Fatalf("burst allowed %d", n)
	}
	if !b.allow(1e9 + int64(1e9)/InputRate + 1) {
		t.Fatal("refill")
	}
}
