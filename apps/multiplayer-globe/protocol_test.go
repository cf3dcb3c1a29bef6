package main

import (
	"encoding/json"
	"math"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/warrenhq/warren/runtime/server"
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

func TestDecodeJoin(t *testing.T) {
	j, err := DecodeJoin(url.Values{"name": {"<b>carol"}, "token": {"carol-secret-token-01"}, "lat": {"10"}, "spectate": {"1"}}, "pk")
	if err != nil || j.Name != "bcarol" || !j.Spectate || j.UID != uidOf("token:carol-secret-token-01") {
		t.Fatalf("%+v %v", j, err)
	}
	if j2, _ := DecodeJoin(url.Values{"token": {"carol-secret-token-01"}}, "other-pk"); j2.UID != j.UID {
		t.Fatal("the same token on another connection is another player")
	}
	if j3, _ := DecodeJoin(url.Values{}, "pk"); j3.UID == j.UID || j3.UID == "pk" || j3.Name != "" {
		t.Fatalf("without a token: %+v", j3)
	}
	for _, tok := range []string{"short", strings.Repeat("a", 129), "has spaces in it 123", "émoji-token-000000"} {
		if _, err := DecodeJoin(url.Values{"token": {tok}}, "pk"); err == nil {
			t.Errorf("token %q accepted", tok)
		}
	}
}

// FuzzDecodeJoin: the connect parameters never panic; a player id is always 24 hex
// digits and never the connection id or the token; names are sanitized.
func FuzzDecodeJoin(f *testing.F) {
	f.Add("name=carol&token=carol-secret-token-01&spectate=1", "pk")
	f.Add("name=%3Cb%3E&lat=1e999&lng=NaN&tzo=-9999", "x")
	f.Add("token=short", "")
	f.Fuzz(func(t *testing.T, rawQuery, connID string) {
		q, _ := url.ParseQuery(rawQuery)
		j, err := DecodeJoin(q, connID)
		if err != nil {
			if server.ValidToken(q.Get("token")) || q.Get("token") == "" {
				t.Fatalf("refused %q: %v", rawQuery, err)
			}
			return
		}
		if len(j.UID) != 24 || strings.Trim(j.UID, "0123456789abcdef") != "" || j.UID == connID || j.UID == q.Get("token") {
			t.Fatalf("player id %q", j.UID)
		}
		if j.Name != SanitizeName(q.Get("name"), "") {
			t.Fatalf("name %q not sanitized", j.Name)
		}
	})
}
