package main

import "fmt"

// MaxClock bounds every clock and length in an update. y-crdt's encoder spends
// time in proportion to them (a fuzzed update with a 13-million clock made every
// later sync take seconds), while real clients stay far below: a client's clock
// counts the characters that one session inserted.
const MaxClock = 1 << 22

// validateUpdate walks a Yjs update (V1) completely and rejects it unless it is
// well-formed, with every count bounded by its length and every clock and length
// below MaxClock. y-crdt never sees what fails here, so it cannot hang on it.
func validateUpdate(u []byte) error {
	r := &reader{b: u}
	bad := func(what string) error { return fmt.Errorf("%w: %s", errHostile, what) }
	count := func() uint64 {
		n := r.uint()
		if n > uint64(len(r.b)) {
			r.err = errFrame
		}
		return n
	}
	clock := func() uint64 {
		c := r.uint()
		if c > MaxClock {
			r.err = errFrame
		}
		return c
	}
	clients := count()
	for i := uint64(0); i < clients && r.err == nil; i++ {
		structs := count()
		r.uint() // client
		at := clock()
		for j := uint64(0); j < structs && r.err == nil; j++ {
			if len(r.b) == 0 {
				return bad("truncated struct")
			}
			info := r.b[0]
			r.b = r.b[1:]
			var n uint64
			switch ref := info & 0x1f; ref {
			case 0, 10: // GC, Skip
				n = clock()
			default:
				if info&0x80 != 0 { // origin
					r.uint()
					clock()
				}
				if info&0x40 != 0 { // right origin
					r.uint()
					clock()
				}
				if info&0xc0 == 0 { // parent info
					if r.uint() == 1 {
						r.bytes() // parent ykey
					} else {
						r.uint()
						clock()
					}
					if info&0x20 != 0 {
						r.bytes() // parentSub
					}
				}
				n = 1
				switch ref {
				case 1: // Deleted
					n = clock()
				case 2: // JSON
					n = count()
					for k := uint64(0); k < n && r.err == nil; k++ {
						r.bytes()
					}
				case 3: // Binary
					r.bytes()
				case 4: // String
					n = uint64(utf16Len(r.bytes()))
				case 5: // Embed
					r.bytes()
				case 6: // Format
					r.bytes()
					r.bytes()
				case 7: // Type
					if t := r.uint(); t == 3 || t == 4 {
						r.bytes()
					}
				case 8: // Any
					n = count()
					for k := uint64(0); k < n && r.err == nil; k++ {
						readAny(r, 0)
					}
				case 9: // Doc
					r.bytes()
					readAny(r, 0)
				default:
					return bad(fmt.Sprintf("content type %d", ref))
				}
			}
			at += n
			if at > MaxClock {
				return bad("clock over MaxClock")
			}
		}
	}
	// delete set
	dsClients := count()
	for i := uint64(0); i < dsClients && r.err == nil; i++ {
		r.uint()
		ranges := count()
		for j := uint64(0); j < ranges && r.err == nil; j++ {
			if clock()+clock() > MaxClock {
				return bad("delete range over MaxClock")
			}
		}
	}
	if r.err != nil {
		return bad("malformed or out of bounds")
	}
	return nil
}

// readAny skips one lib0 "any" value.
func readAny(r *reader, depth int) {
	if depth > 32 || len(r.b) == 0 {
		r.err = errFrame
		return
	}
	t := r.b[0]
	r.b = r.b[1:]
	skip := func(n int) {
		if len(r.b) < n {
			r.err = errFrame
			return
		}
		r.b = r.b[n:]
	}
	switch t {
	case 127, 126, 121, 120: // undefined, null, false, true
	case 125: // signed varint
		for i := 0; ; i++ {
			if len(r.b) == 0 || i > 9 {
				r.err = errFrame
				return
			}
			c := r.b[0]
			r.b = r.b[1:]
			if c < 0x80 {
				break
			}
		}
	case 124:
		skip(4)
	case 123, 122:
		skip(8)
	case 119, 116: // string, Uint8Array
		r.bytes()
	case 118: // object
		n := r.uint()
		if n > uint64(len(r.b)) {
			r.err = errFrame
		}
		for i := uint64(0); i < n && r.err == nil; i++ {
			r.bytes()
			readAny(r, depth+1)
		}
	case 117: // array
		n := r.uint()
		if n > uint64(len(r.b)) {
			r.err = errFrame
		}
		for i := uint64(0); i < n && r.err == nil; i++ {
			readAny(r, depth+1)
		}
	default:
		r.err = errFrame
	}
}

// utf16Len is the length of a UTF-8 string in UTF-16 code units (Yjs' unit).
func utf16Len(b []byte) int {
	n := 0
	for _, r := range string(b) {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}
