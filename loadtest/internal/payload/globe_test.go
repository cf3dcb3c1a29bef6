package payload

import "testing"

func TestGlobe(t *testing.T) {
	var g Globe
	a, b := Meta{Run: 1, Sender: 2, Seq: 3, SentNS: 4}, Meta{Run: 1, Sender: 5, Seq: 6, SentNS: 7}
	in := g.Append(nil, a, 0)
	if m, _, ok := g.Decode(in); !ok || m != a {
		t.Fatalf("input %s: %+v %v", in, m, ok)
	}
	tick := []byte(`{"type":"tick","tick":9,"p":[[1,2,3,4]],"a":["` + string(AppendToken(nil, a)) + `","wlt1:zz","` + string(AppendToken(nil, b)) + `"]}`)
	var got []Meta
	for from := 0; ; {
		m, _, next, ok := g.DecodeNext(tick, from)
		if !ok {
			break
		}
		got, from = append(got, m), next
	}
	if len(got) != 2 || got[0] != a || got[1] != b {
		t.Fatalf("got %+v", got)
	}
	if _, _, ok := g.Decode([]byte(`{"type":"tick","tick":1}`)); ok {
		t.Fatal("empty tick decoded")
	}
}

func TestGlobeStamp(t *testing.T) {
	var g Globe
	for _, c := range []struct {
		frame string
		want  int64
		ok    bool
	}{
		{`{"type":"tick","tick":9,"ts":1700000000123,"at":1700000000123456,"p":[[1,2,3,4]],"a":["x"]}`, 1700000000123456, true},
		{`{"type":"tick","tick":9,"ts":1,"at":0}`, 0, true},
		{`{"type":"tick","tick":9,"ts":1}`, 0, false},
		{`{"type":"tick","tick":9,"ts":1,"at":"x"}`, 0, false},
		{`{"type":"tick","tick":9,"ts":1,"at":`, 0, false},
		{`{"type":"tick","tick":9,"ts":1,"at":1234567890123456789}`, 0, false},
		{`{"type":"snapshot","tick":1,"ts":1,"players":[],"items":[],"spectators":0,"x":"` + string(make([]byte, 100)) + `","at":5}`, 0, false},
		{``, 0, false},
	} {
		got, ok := g.Stamp([]byte(c.frame))
		if got != c.want || ok != c.ok {
			t.Errorf("%q: %d %v, want %d %v", c.frame, got, ok, c.want, c.ok)
		}
	}
	var _ Stamped = g
	f := []byte(`{"type":"tick","tick":9,"ts":1,"at":1700000000123456,"a":[]}`)
	if n := testing.AllocsPerRun(100, func() { g.Stamp(f) }); n != 0 {
		t.Errorf("%v allocs", n)
	}
}

func FuzzGlobeDecode(f *testing.F) {
	f.Add([]byte(`{"a":["wlt1:000000010000000200000000000000030000000000000004"]}`))
	f.Add([]byte(`{"type":"tick","tick":1,"ts":2,"at":3}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var g Globe
		if v, ok := g.Stamp(b); ok && v < 0 {
			t.Fatal("negative stamp")
		}
		for from, n := 0, 0; n <= len(b); n++ {
			_, _, next, ok := g.DecodeNext(b, from)
			if !ok {
				return
			}
			if next <= from {
				t.Fatal("no progress")
			}
			from = next
		}
	})
}
