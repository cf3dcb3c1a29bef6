package yupdate

import (
	"unicode/utf16"

	"github.com/warrenhq/warren/apps/collab-editor/internal/lib0"
)

// rightOrigin returns the encoded right origin of item s (nil when it has none).
func rightOrigin(src []byte, s span) []byte {
	if s.info&hasRightOrigin == 0 {
		return nil
	}
	r := lib0.NewReader(src[s.off+1 : s.coff])
	if s.info&hasOrigin != 0 {
		r.Uint()
		r.Uint()
	}
	start := r.Pos()
	r.Uint()
	r.Uint()
	return src[s.off+1+uint32(start) : s.off+1+uint32(r.Pos())]
}

// appendPart appends clocks [a, b) of struct s of client (0 <= a < b <= length)
// as a struct of its own, with its content replaced by its length (deleted
// content, as Yjs' garbage collection writes it) when del is set. A part that
// does not start the struct gets the clock before it as its origin and loses its
// parent info, as Yjs writes a split item.
func appendPart(dst []byte, client uint64, src []byte, s span, a, b uint32, del bool) []byte {
	ref := s.ref()
	if a == 0 && b == s.length && (!del || ref == refDeleted || ref == refGC) {
		return append(dst, src[s.off:s.end]...)
	}
	if ref == refGC || ref == refSkip {
		return lib0.AppendUint(append(dst, ref), uint64(b-a))
	}
	newRef := ref
	if del {
		newRef = refDeleted
	}
	if a == 0 {
		dst = append(dst, s.info&^0x1f|newRef)
		dst = append(dst, src[s.off+1:s.coff]...)
	} else {
		info := newRef | hasOrigin | s.info&hasRightOrigin
		if s.info&(hasOrigin|hasRightOrigin) == 0 {
			info |= s.info & hasParentSub
		}
		dst = append(dst, info)
		dst = lib0.AppendUint(dst, client)
		dst = lib0.AppendUint(dst, uint64(s.clock+a-1))
		dst = append(dst, rightOrigin(src, s)...)
	}
	if del {
		return lib0.AppendUint(dst, uint64(b-a))
	}
	return appendContentPart(dst, ref, src[s.coff:s.end], a, b)
}

// appendContentPart appends units [a, b) of content c (of n units) of type ref.
func appendContentPart(dst []byte, ref uint8, c []byte, a, b uint32) []byte {
	r := lib0.NewReader(c)
	switch ref {
	case refDeleted:
		return lib0.AppendUint(dst, uint64(b-a))
	case refJSON, refAny:
		r.Uint()
		skip := func() {
			if ref == refJSON {
				r.VarString()
			} else {
				r.SkipAny()
			}
		}
		for range a {
			skip()
		}
		start := r.Pos()
		for range b - a {
			skip()
		}
		return append(lib0.AppendUint(dst, uint64(b-a)), c[start:r.Pos()]...)
	case refString:
		return lib0.AppendString(dst, sliceUTF16(r.VarString(), a, b))
	default: // content of length 1 is never split
		return append(dst, c...)
	}
}

// isHighSurrogate reports whether u starts a UTF-16 surrogate pair.
func isHighSurrogate(u uint16) bool { return u >= 0xd800 && u < 0xdc00 }

// sliceUTF16 returns UTF-16 units [a, b) of s. Yjs never splits a surrogate
// pair: a cut inside one turns both of its halves into U+FFFD.
func sliceUTF16(s string, a, b uint32) string {
	units := utf16.Encode([]rune(s))
	part := append([]uint16(nil), units[a:b]...)
	if a > 0 && isHighSurrogate(units[a-1]) {
		part[0] = 0xfffd
	}
	if int(b) < len(units) && isHighSurrogate(units[b-1]) {
		part[len(part)-1] = 0xfffd
	}
	return string(utf16.Decode(part))
}

// builder writes an update client by client.
type builder struct {
	out     []byte // the clients written
	clients int
	body    []byte // the structs of the current client
	n       int
	first   uint32
}

// startClient begins the structs of a client, the first at clock first.
func (w *builder) startClient(first uint32) { w.body, w.n, w.first = w.body[:0], 0, first }

// endClient writes the client's header and structs.
func (w *builder) endClient(client uint64) {
	if w.n == 0 {
		return
	}
	w.out = lib0.AppendUint(w.out, uint64(w.n))
	w.out = lib0.AppendUint(w.out, client)
	w.out = lib0.AppendUint(w.out, uint64(w.first))
	w.out = append(w.out, w.body...)
	w.clients++
}

// bytes writes the delete set and returns the update.
func (w *builder) bytes(ds []dsClient) []byte {
	b := lib0.AppendUint(make([]byte, 0, len(w.out)+16), uint64(w.clients))
	b = append(b, w.out...)
	return appendDeleteSet(b, ds)
}

func appendDeleteSet(b []byte, ds []dsClient) []byte {
	b = lib0.AppendUint(b, uint64(len(ds)))
	for _, c := range ds {
		b = lib0.AppendUint(b, c.client)
		b = lib0.AppendUint(b, uint64(len(c.ranges)))
		for _, r := range c.ranges {
			b = lib0.AppendUint(b, uint64(r.clock))
			b = lib0.AppendUint(b, uint64(r.length))
		}
	}
	return b
}
