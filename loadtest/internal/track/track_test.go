package track

import "testing"

func TestSeq(t *testing.T) {
	tests := []struct {
		name                                string
		base                                uint64
		arrivals                            []uint64
		sent                                uint64
		unique, dups, reordered, late, lost uint64
	}{
		{"in order", 0, []uint64{0, 1, 2, 3}, 4, 4, 0, 0, 0, 0},
		{"gap is loss", 0, []uint64{0, 1, 3}, 4, 3, 0, 0, 0, 1},
		{"tail loss", 0, []uint64{0, 1}, 4, 2, 0, 0, 0, 2},
		{"swap", 0, []uint64{0, 2, 1, 3}, 4, 4, 0, 1, 0, 0},
		{"dup", 0, []uint64{0, 1, 1, 2, 0}, 3, 3, 2, 0, 0, 0},
		{"base", 10, []uint64{10, 11, 9}, 12, 2, 0, 0, 1, 0},
		{"jump past window then late", 0, []uint64{0, 1000, 999, 1}, 1001, 3, 0, 1, 1, 997},
		{"window reuse", 0, []uint64{0, Window, 0}, Window + 1, 2, 0, 0, 1, Window - 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Seq
			s.Start(tt.base)
			for _, q := range tt.arrivals {
				s.Observe(q, false)
			}
			got := [5]uint64{s.Unique, s.Dups, s.Reordered, s.Late, s.Lost(tt.sent)}
			want := [5]uint64{tt.unique, tt.dups, tt.reordered, tt.late, tt.lost}
			if got != want {
				t.Errorf("unique,dups,reordered,late,lost = %v, want %v", got, want)
			}
		})
	}
}

func TestSecondary(t *testing.T) {
	var s Seq
	s.Observe(0, false)
	if r := s.Observe(0, true); r != Duplicate || s.Dups != 0 || s.Secondary != 1 {
		t.Errorf("secondary after primary: %v dups %d secondary %d", r, s.Dups, s.Secondary)
	}
	if r := s.Observe(1, true); r != New || s.Unique != 2 {
		t.Errorf("secondary first: %v unique %d", r, s.Unique)
	}
}

func BenchmarkObserve(b *testing.B) {
	var s Seq
	q := uint64(0)
	for b.Loop() {
		s.Observe(q, false)
		q++
	}
}
