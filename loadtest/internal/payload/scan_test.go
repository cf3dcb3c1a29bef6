package payload

import "testing"

// scanStringRef is the plain byte loop scanString must agree with.
func scanStringRef(b []byte, i int) (start, end int, ok bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return i + 1, j, true
		}
	}
	return 0, 0, false
}

func TestScanString(t *testing.T) {
	for _, s := range []string{`""`, `"abc"`, `"a\"b"`, `"a\\"b`, `"a\\\"b"`, `"\\\\"`, `"\"`, `"abc`, `"\x"y`, `"\"\"\\"`} {
		s0, e0, ok0 := scanStringRef([]byte(s), 0)
		s1, e1, ok1 := scanString([]byte(s), 0)
		if s0 != s1 || e0 != e1 || ok0 != ok1 {
			t.Errorf("%s: got %d %d %v, want %d %d %v", s, s1, e1, ok1, s0, e0, ok0)
		}
	}
}

func FuzzScanString(f *testing.F) {
	for _, s := range []string{`"a\"b"`, `"a\\"b`, `"\\\"\\"`, `"x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || b[0] != '"' {
			b = append([]byte{'"'}, b...)
		}
		s0, e0, ok0 := scanStringRef(b, 0)
		s1, e1, ok1 := scanString(b, 0)
		if s0 != s1 || e0 != e1 || ok0 != ok1 {
			t.Fatalf("%q: got %d %d %v, want %d %d %v", b, s1, e1, ok1, s0, e0, ok0)
		}
	})
}
