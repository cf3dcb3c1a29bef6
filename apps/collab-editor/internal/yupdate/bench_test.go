package yupdate

import (
	"fmt"
	"testing"
)

// BenchmarkMerge merges a document of n one-character items (the worst case of
// structs per byte that typing makes) with one more keystroke.
//
//	GOWORK=off go test -run '^$' -bench Merge -benchtime 5x ./internal/yupdate
func BenchmarkMerge(b *testing.B) {
	for _, n := range []int{64 << 10, 512 << 10} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			state := mustMerge(b, mustParse(b, textAppended(1, 0, n)))
			key := mustParse(b, textAppended(1, n, 1))
			b.SetBytes(int64(len(state.Bytes())))
			for b.Loop() {
				mustMerge(b, state, key)
			}
		})
	}
}

// BenchmarkText integrates documents: two clients' n items inserted at the
// start (the pattern that is quadratic when applied one update after the other,
// linear here), and quadraticText (about 2n^2 steps in any order).
//
//	GOWORK=off go test -run '^$' -bench Text -benchtime 3x ./internal/yupdate
func BenchmarkText(b *testing.B) {
	docs := map[string]func(n int) [][]byte{
		"at-start":  func(n int) [][]byte { return [][]byte{textAtStart(1, n), textAtStart(2, n)} },
		"quadratic": quadraticText,
	}
	for name, doc := range docs {
		for _, n := range []int{1000, 4000} {
			b.Run(fmt.Sprint(name, "-", n), func(b *testing.B) {
				var us []*Update
				for _, u := range doc(n) {
					us = append(us, mustParse(b, u))
				}
				m := mustMerge(b, us...)
				for b.Loop() {
					if _, err := Text(m, "content", 1<<40); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
