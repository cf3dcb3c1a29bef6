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

func FuzzGlobeDecode(f *testing.F) {
	f.Add([]byte(`{"a":["wlt1:000000010000000200000000000000030000000000000004"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var g Globe
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
