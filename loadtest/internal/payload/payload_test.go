package payload

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var sample = Meta{Run: 0xdeadbeef, Sender: 42, Seq: 1<<40 + 7, SentNS: 123456789012}

func TestRoundTrip(t *testing.T) {
	for _, c := range []Codec{Relay{}, Chat{}} {
		for _, size := range []int{0, 10, 60, 200, 5000} {
			f := c.Append(nil, sample, size)
			if len(f) < size {
				t.Errorf("%s size %d: frame is %d bytes", c.Name(), size, len(f))
			}
			m, k, ok := c.Decode(f)
			if !ok || k != Primary {
				t.Fatalf("%s: Decode(%q) = ok %v kind %v", c.Name(), f, ok, k)
			}
			if diff := cmp.Diff(sample, m); diff != "" {
				t.Errorf("%s: round trip (-want +got):\n%s", c.Name(), diff)
			}
		}
	}
}

func TestChatFrameIsJSON(t *testing.T) {
	f := Chat{}.Append(nil, sample, 300)
	if len(f) != 300 {
		t.Errorf("len = %d, want 300", len(f))
	}
	var v struct{ Type, ID, Content, User, Role string }
	if err := json.Unmarshal(f, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, f)
	}
	if v.Type != "add" || v.User != "lt-42" || v.Role != "user" || v.ID != string(AppendToken(nil, sample)) {
		t.Errorf("unexpected fields: %+v", v)
	}
}

func TestChatDecode(t *testing.T) {
	tok := string(AppendToken(nil, sample))
	tests := []struct {
		name  string
		frame string
		kind  Kind
		ok    bool
	}{
		{"add", `{"type":"add","id":"` + tok + `","content":"hi"}`, Primary, true},
		{"update reordered keys", ` { "content" : "x", "user":{"a":[1,"}"]}, "id":"` + tok + `", "type" : "update" } `, Secondary, true},
		{"token only in content", `{"type":"add","id":"abc","content":"` + tok + ` hello"}`, Primary, true},
		{"history ignored", `{"type":"all","messages":[{"type":"add","id":"` + tok + `"}]}`, Primary, false},
		{"nested type ignored", `{"x":{"type":"add"},"id":"` + tok + `"}`, Primary, false},
		{"escaped quote in value", `{"content":"a\"b","type":"add","id":"` + tok + `"}`, Primary, true},
		{"not json", `hello ` + tok, Primary, false},
		{"truncated", `{"type":"add","id":"` + tok, Primary, false},
		{"refusal (update with error)", `{"type":"update","id":"` + tok + `","content":"⚠ Not sent: slow down","error":{"code":"rate_limited"}}`, Refused, true},
		{"error on an add is no refusal", `{"type":"add","error":"x","id":"` + tok + `"}`, Primary, true},
		{"numbers and literals", `{"n":-1.5e3,"b":true,"z":null,"type":"add","id":"` + tok + `"}`, Primary, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, k, ok := Chat{}.Decode([]byte(tt.frame))
			if ok != tt.ok || (ok && (k != tt.kind || m != sample)) {
				t.Errorf("Decode = %+v, %v, %v; want ok %v kind %v", m, k, ok, tt.ok, tt.kind)
			}
		})
	}
}

func TestRelayDecodeRejects(t *testing.T) {
	for _, f := range []string{"", "wlt1:", "wlt1:zz" + string(make([]byte, 60)), "hello world", "WLT1:0000"} {
		if _, _, ok := (Relay{}).Decode([]byte(f)); ok {
			t.Errorf("Decode(%q) ok", f)
		}
	}
	// A prefixed frame (e.g. "name: <token>") still decodes.
	f := append([]byte("alice: "), Relay{}.Append(nil, sample, 0)...)
	if m, _, ok := (Relay{}).Decode(f); !ok || m != sample {
		t.Errorf("prefixed frame: %+v %v", m, ok)
	}
}

func TestDecodeAllocatesNothing(t *testing.T) {
	for _, c := range []Codec{Relay{}, Chat{}} {
		f := c.Append(nil, sample, 128)
		n := testing.AllocsPerRun(100, func() { c.Decode(f) })
		if n != 0 {
			t.Errorf("%s: %v allocs per Decode", c.Name(), n)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Relay{}.Append(nil, sample, 100))
	f.Add(Chat{}.Append(nil, sample, 100))
	f.Add([]byte(`{"type":"update","id":"x","content":"wlt1:00"}`))
	f.Add([]byte(`{"a":[{"b":"\\"}],"type":"add"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range []Codec{Relay{}, Chat{}} {
			m, _, ok := c.Decode(b)
			if !ok {
				continue
			}
			// Whatever decodes must re-encode to a frame that decodes the same.
			m2, _, ok2 := c.Decode(c.Append(nil, m, 0))
			if !ok2 || m2 != m {
				t.Fatalf("%s: %+v re-decoded as %+v %v", c.Name(), m, m2, ok2)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range []Codec{Relay{}, Chat{}} {
		f := c.Append(nil, sample, 128)
		b.Run(c.Name(), func(b *testing.B) {
			b.SetBytes(int64(len(f)))
			for b.Loop() {
				c.Decode(f)
			}
		})
	}
	// A frame as the chat app broadcasts it: the tester's add with the room's fields.
	f := Chat{}.Append(nil, sample, 128)
	f = append(f[:len(f)-1], `,"seq":123456,"rev":123456,"createdAt":1764662400123,"uid":"4f1c2a9be07d3e55a1c08f6b2d94e7a3"}`...)
	b.Run("chat-server", func(b *testing.B) {
		b.SetBytes(int64(len(f)))
		for b.Loop() {
			if _, _, ok := (Chat{}).Decode(f); !ok {
				b.Fatal("not decoded")
			}
		}
	})
}

func TestBinaryCodecs(t *testing.T) {
	for _, tc := range []struct {
		c    Codec
		want bool
	}{{Relay{}, false}, {Chat{}, false}, {Yjs{}, true}} {
		if got := IsBinary(tc.c); got != tc.want {
			t.Errorf("IsBinary(%s) = %v, want %v", tc.c.Name(), got, tc.want)
		}
	}
}
