package history

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
)

// A bookmark names one commit of one object's history, as Durable Objects' do: 40
// lowercase hex digits, the commit's sequence number (16), its time in Unix
// nanoseconds (16) and a check (8) over both and the object they are of, so that a
// mistyped bookmark, or one of another object, is refused before the history is
// read. Bookmarks of one object sort as their commits do.

const bookmarkLen = 40

func bookmarkCheck(object string, seq uint64, at int64) uint32 {
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:], seq)
	binary.BigEndian.PutUint64(b[8:], uint64(at))
	return crc32.Update(crc32.Checksum([]byte(object), castagnoli), castagnoli, b[:])
}

// encodeBookmark returns the bookmark of commit seq (at its time at) of object
// ("namespace/id").
func encodeBookmark(object string, seq uint64, at int64) string {
	var b [20]byte
	binary.BigEndian.PutUint64(b[0:], seq)
	binary.BigEndian.PutUint64(b[8:], uint64(at))
	binary.BigEndian.PutUint32(b[16:], bookmarkCheck(object, seq, at))
	return hex.EncodeToString(b[:])
}

// parseBookmark validates a bookmark of object and returns its commit.
func parseBookmark(object, s string) (seq uint64, at int64, err error) {
	if len(s) != bookmarkLen {
		return 0, 0, fmt.Errorf("%w: %d characters, want %d hex digits", ErrBadBookmark, len(s), bookmarkLen)
	}
	var b [20]byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return 0, 0, fmt.Errorf("%w: character %d is not a lowercase hex digit", ErrBadBookmark, i+1)
		}
	}
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return 0, 0, fmt.Errorf("%w: %v", ErrBadBookmark, err)
	}
	seq = binary.BigEndian.Uint64(b[0:])
	at = int64(binary.BigEndian.Uint64(b[8:]))
	if binary.BigEndian.Uint32(b[16:]) != bookmarkCheck(object, seq, at) {
		return 0, 0, fmt.Errorf("%w: its check does not match (mistyped, or a bookmark of another object)", ErrBadBookmark)
	}
	return seq, at, nil
}
