// Package lib0 reads and writes the lib0 encodings that Yjs and y-protocols use:
// variable-length unsigned integers, length-prefixed bytes and strings, and the
// "any" values. The Reader never panics, never allocates more than its input and
// never reads past its end: every read after the first error returns zero values.
package lib0

import (
	"errors"
	"unicode/utf8"
)

// ErrMalformed reports truncated or out-of-range input.
var ErrMalformed = errors.New("lib0: malformed input")

// MaxVarint bounds varuints to what lib0 writes for JavaScript numbers (53 bits).
const MaxVarint = 1<<53 - 1

// MaxAnyDepth bounds the nesting of "any" values (objects and arrays).
const MaxAnyDepth = 32

// Reader decodes lib0 encodings from a byte slice.
type Reader struct {
	b   []byte
	pos int
	err error
}

// NewReader returns a Reader of b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err returns the first error.
func (r *Reader) Err() error { return r.err }

// Fail records err (the first error wins).
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Pos is the offset of the next byte.
func (r *Reader) Pos() int { return r.pos }

// Len is the number of bytes left.
func (r *Reader) Len() int { return len(r.b) - r.pos }

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.err != nil {
		return 0
	}
	if r.pos >= len(r.b) {
		r.err = ErrMalformed
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

// Uint reads a varuint of at most MaxVarint.
func (r *Reader) Uint() uint64 {
	var x uint64
	for shift := uint(0); ; shift += 7 {
		if r.err != nil {
			return 0
		}
		if r.pos >= len(r.b) || shift > 56 {
			r.err = ErrMalformed
			return 0
		}
		c := r.b[r.pos]
		r.pos++
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			break
		}
	}
	if x > MaxVarint {
		r.err = ErrMalformed
		return 0
	}
	return x
}

// Count reads a varuint that counts things of at least one byte each that follow:
// it cannot exceed the bytes left.
func (r *Reader) Count() uint64 {
	n := r.Uint()
	if n > uint64(r.Len()) {
		r.Fail(ErrMalformed)
		return 0
	}
	return n
}

// Bytes reads a varuint length and that many bytes (sharing r's buffer).
func (r *Reader) Bytes() []byte {
	n := r.Uint()
	if r.err != nil {
		return nil
	}
	if n > uint64(r.Len()) {
		r.err = ErrMalformed
		return nil
	}
	v := r.b[r.pos : r.pos+int(n) : r.pos+int(n)]
	r.pos += int(n)
	return v
}

// VarString reads a varstring, which must be valid UTF-8 (what JavaScript's
// TextEncoder writes; other bytes would decode differently in Go and in a browser).
func (r *Reader) VarString() string {
	b := r.Bytes()
	if !utf8.Valid(b) {
		r.Fail(ErrMalformed)
		return ""
	}
	return string(b)
}

// skip skips n bytes.
func (r *Reader) skip(n int) {
	if r.err == nil && r.Len() < n {
		r.err = ErrMalformed
	}
	if r.err == nil {
		r.pos += n
	}
}

// SkipAny skips one "any" value (lib0 writeAny), nested at most MaxAnyDepth deep,
// and returns its type byte.
func (r *Reader) SkipAny() byte { return r.skipAny(0) }

func (r *Reader) skipAny(depth int) byte {
	if depth > MaxAnyDepth {
		r.Fail(ErrMalformed)
		return 0
	}
	t := r.Byte()
	switch t {
	case 127, 126, 121, 120: // undefined, null, false, true
	case 125: // signed varint: at most 10 bytes
		for i := 0; ; i++ {
			if i == 10 {
				r.Fail(ErrMalformed)
			}
			if c := r.Byte(); r.err != nil || c < 0x80 {
				break
			}
		}
	case 124: // float32
		r.skip(4)
	case 123, 122: // float64, bigint64
		r.skip(8)
	case 119: // string
		r.VarString()
	case 116: // Uint8Array
		r.Bytes()
	case 118: // object
		n := r.Count()
		for i := uint64(0); i < n && r.err == nil; i++ {
			r.VarString()
			r.skipAny(depth + 1)
		}
	case 117: // array
		n := r.Count()
		for i := uint64(0); i < n && r.err == nil; i++ {
			r.skipAny(depth + 1)
		}
	default:
		r.Fail(ErrMalformed)
	}
	return t
}

// AppendUint appends x as a varuint.
func AppendUint(b []byte, x uint64) []byte {
	for x >= 0x80 {
		b = append(b, byte(x)|0x80)
		x >>= 7
	}
	return append(b, byte(x))
}

// AppendBytes appends v with its varuint length.
func AppendBytes(b, v []byte) []byte { return append(AppendUint(b, uint64(len(v))), v...) }

// AppendString appends s as a varstring.
func AppendString(b []byte, s string) []byte { return append(AppendUint(b, uint64(len(s))), s...) }
