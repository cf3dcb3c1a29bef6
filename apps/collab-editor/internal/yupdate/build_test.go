package yupdate

import (
	"github.com/warrenhq/warren/apps/collab-editor/internal/lib0"
)

// textAtStart is an update of client inserting n one-character items, each at
// the start of the root text "content" before the previous one (origin none,
// right origin the previous item), as typing backwards does: n items that never
// merge.
func textAtStart(client uint64, n int) []byte {
	return chars(client, 0, n, none, func(i int) *tid {
		if i == 0 {
			return nil
		}
		return &tid{client, uint32(i - 1)}
	})
}

// textAppended is an update of client appending n one-character items at clocks
// from..from+n-1, each after the previous one (origin the previous item, the
// first after clock from-1, or at the start when from is 0), as typing does;
// Yjs would merge them into one item, kept apart here to count structs.
func textAppended(client uint64, from, n int) []byte {
	return chars(client, from, n, func(i int) *tid {
		if i == 0 {
			return nil
		}
		return &tid{client, uint32(i - 1)}
	}, none)
}

// chars is an update of one client's one-character items at clocks from on,
// item i with origin origins(i) and right origin rights(i) (nil: none; with
// neither, the item is at the start of the root text "content").
func chars(client uint64, from, n int, origins, rights func(i int) *tid) []byte {
	b := lib0.AppendUint([]byte{1}, uint64(n))
	b = lib0.AppendUint(b, client)
	b = lib0.AppendUint(b, uint64(from))
	for i := from; i < from+n; i++ {
		o, r := origins(i), rights(i)
		info := byte(refString)
		if o != nil {
			info |= hasOrigin
		}
		if r != nil {
			info |= hasRightOrigin
		}
		b = append(b, info)
		for _, id := range []*tid{o, r} {
			if id != nil {
				b = lib0.AppendUint(lib0.AppendUint(b, id.client), uint64(id.clock))
			}
		}
		if o == nil && r == nil {
			b = lib0.AppendString(append(b, 1), "content")
		}
		b = lib0.AppendString(b, string(rune('a'+i%26)))
	}
	return append(b, 0)
}

func none(int) *tid { return nil }

// quadraticText is a document whose integration takes about n*n steps in any
// order of clients: after an item X, a chain of n items, then n more; then n
// clients each insert one item after X whose right origin is one of the last n,
// so each scans the chains and the single items placed before it.
func quadraticText(n int) [][]byte {
	const x, chain, tail = 1 << 45, 1 << 44, 1 << 43
	us := [][]byte{
		chars(x, 0, 1, none, none),
		chars(chain, 0, n, func(i int) *tid {
			if i == 0 {
				return &tid{x, 0}
			}
			return &tid{chain, uint32(i - 1)}
		}, none),
		chars(tail, 0, n, func(i int) *tid {
			if i == 0 {
				return &tid{chain, uint32(n - 1)}
			}
			return &tid{tail, uint32(i - 1)}
		}, none),
	}
	for c := range n {
		us = append(us, chars(uint64(c+1), 0, 1, func(int) *tid { return &tid{x, 0} }, func(int) *tid { return &tid{tail, uint32(c)} }))
	}
	return us
}
