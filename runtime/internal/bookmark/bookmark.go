// Package bookmark is the form of a point-in-time bookmark, shared by a single
// node's history (package history) and cluster mode's (package cluster): 40
// lowercase hex digits, the commit's sequence number (16), its time in Unix
// nanoseconds (16) and a CRC-32C check (8) over both and the object they are of, so
// that a mistyped bookmark, or one of another object, is refused before any history
// is read. Bookmarks of one object sort as their commits do.
package bookmark

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
)

// Len is the length of a bookmark.
const Len = 40

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func check(obj string, seq uint64, at int64) uint32 {
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:], seq)
	binary.BigEndian.PutUint64(b[8:], uint64(at))
	return crc32.Update(crc32.Checksum([]byte(obj), castagnoli), castagnoli, b[:])
}

// Encode returns the bookmark of commit seq, made at at, of obj ("namespace/id").
func Encode(obj string, seq uint64, at int64) string {
	var b [20]byte
	binary.BigEndian.PutUint64(b[0:], seq)
	binary.BigEndian.PutUint64(b[8:], uint64(at))
	binary.BigEndian.PutUint32(b[16:], check(obj, seq, at))
	return hex.EncodeToString(b[:])
}

// Parse validates s as a bookmark of obj and returns its commit; an error says what
// is wrong with it and wraps bad.
func Parse(obj, s string, bad error) (seq uint64, at int64, err error) {
	if len(s) != Len {
		return 0, 0, fmt.Errorf("%w: %d characters, want %d hex digits", bad, len(s), Len)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return 0, 0, fmt.Errorf("%w: character %d is not a lowercase hex digit", bad, i+1)
		}
	}
	var b [20]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return 0, 0, fmt.Errorf("%w: %v", bad, err)
	}
	seq = binary.BigEndian.Uint64(b[0:])
	at = int64(binary.BigEndian.Uint64(b[8:]))
	if binary.BigEndian.Uint32(b[16:]) != check(obj, seq, at) {
		return 0, 0, fmt.Errorf("%w: its check does not match (mistyped, or a bookmark of another object)", bad)
	}
	return seq, at, nil
}
