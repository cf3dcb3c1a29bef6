package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeFrame(t *testing.T) {
	for _, tc := range []struct {
		in   string
		code string // "" when valid
	}{
		{`{"type":"add","id":"abc_DEF-1","content":"hi","user":"Alice","role":"user"}`, ""},
		{`{"type":"add","id":"a","content":"hi","user":"Al"}`, ""}, // role defaults to user
		{`{"type":"update","id":"a","content":"x","user":"Al","role":"assistant"}`, ""},
		{`{"type":"add","id":"a","content":"hi","user":"Al","role":"admin"}`, ErrInvalid},
		{`{"type":"add","id":"","content":"hi","user":"Al"}`, ErrInvalid},
		{`{"type":"add","id":"a b","content":"hi","user":"Al"}`, ErrInvalid},
		{`{"type":"add","id":"wlt1:00ff","content":"hi","user":"Al"}`, ""},
		{`{"type":"add","id":"é","content":"hi","user":"Al"}`, ErrInvalid},
		{`{"type":"add","id":"a","content":"   ","user":"Al"}`, ErrInvalid},
		{`{"type":"add","id":"a","content":"hi","user":""}`, ErrInvalid},
		{`{"type":"add","id":"a","content":"hi","user":"a\u0007b"}`, ErrInvalid},
		{`{"type":"add","id":"a","content":"` + strings.Repeat("x", MaxContentBytes+1) + `","user":"Al"}`, ErrTooLarge},
		{`{"type":"chat:delete","id":"a"}`, ""},
		{`{"type":"chat:history","before":10,"limit":20}`, ""},
		{`{"type":"chat:history","limit":1000}`, ErrInvalid},
		{`{"type":"chat:history","before":-1}`, ErrInvalid},
		{`{"type":"chat:search","q":"fox"}`, ""},
		{`{"type":"chat:typing","typing":true}`, ""},
		{`{"type":"chat:typing","typing":true,"user":"Al"}`, ""},
		{`{"type":"chat:typing","typing":true,"user":"a\u0000b"}`, ErrInvalid},
		{`{"type":"chat:typing","typing":true,"user":"` + strings.Repeat("x", MaxNameBytes+1) + `"}`, ErrTooLarge},
		{`{"type":"chat:resume","since":12}`, ""},
		{`{"type":"chat:resume"}`, ErrInvalid},
		{`{"type":"chat:resume","since":-3}`, ErrInvalid},
		{`{"type":"chat:resume","since":1e30}`, ErrInvalid},
		{`{"type":"nope"}`, ErrInvalid},
		{`{"type":"add","id":5}`, ErrInvalid},
		{`[1,2]`, ErrInvalid},
		{`not json`, ErrInvalid},
		{strings.Repeat(" ", MaxFrameBytes+1), ErrTooLarge},
	} {
		_, err := DecodeFrame([]byte(tc.in))
		var fe *FrameError
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("%.60s: unexpected error %v", tc.in, err)
		case tc.code != "" && (!errors.As(err, &fe) || fe.Code != tc.code):
			t.Errorf("%.60s: got %v, want code %s", tc.in, err, tc.code)
		}
	}
}

func TestFTSQuery(t *testing.T) {
	for in, want := range map[string]string{
		"":              "",
		"fox":           `"fox"*`,
		`quick "brown"`: `"quick" """brown"""*`,
		"a OR b":        `"a" "OR" "b"*`,
	} {
		if got := ftsQuery(in); got != want {
			t.Errorf("ftsQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzDecodeFrame: the decoder never panics, errors are FrameErrors, and what it
// accepts respects every limit.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"add","id":"abc","content":"hi","user":"Alice","role":"user"}`,
		`{"type":"update","id":"abc","content":"<img src=x onerror=alert(1)>","user":"A"}`,
		`{"type":"chat:history","before":3,"limit":2}`, `{"type":"chat:search","q":"\"x\" OR"}`,
		`{"type":"chat:delete","id":"x"}`, `{"type":"chat:typing","typing":true}`, `{}`, `null`, `"add"`,
		`{"type":"chat:typing","typing":false,"user":"bob"}`, `{"type":"chat:resume","since":7}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := DecodeFrame(data)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) || fe.Code == "" || (fe.ID != "" && validateID(fe.ID) != nil) {
				t.Fatalf("bad error %#v", err)
			}
			if _, err := json.Marshal(fe); err != nil {
				t.Fatal(err)
			}
			return
		}
		switch fr.Type {
		case TypeAdd, TypeUpdate:
			if validateID(fr.ID) != nil || len(fr.Content) > MaxContentBytes || !utf8.ValidString(fr.Content) ||
				validateName(fr.User) != nil || (fr.Role != "user" && fr.Role != "assistant") {
				t.Fatalf("accepted invalid message %#v", fr)
			}
		case TypeHistory:
			if fr.Limit < 1 || fr.Limit > MaxPage || fr.Before < 0 {
				t.Fatalf("accepted invalid history %#v", fr)
			}
		case TypeSearch:
			if len(fr.Q) > MaxSearchBytes {
				t.Fatalf("accepted long search")
			}
			ftsQuery(fr.Q)
		case TypeTyping:
			if fr.User != "" && validateName(fr.User) != nil {
				t.Fatalf("accepted typing with an invalid user %q", fr.User)
			}
		case TypeResume:
			if fr.Since <= 0 {
				t.Fatalf("accepted resume since %d", fr.Since)
			}
		case TypeDelete:
		default:
			t.Fatalf("accepted type %q", fr.Type)
		}
	})
}
