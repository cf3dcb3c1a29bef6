package history

import (
	"encoding/binary"
	"hash/crc32"
)

// The pending file records the time of each commit still in the database's log, one
// fixed-size record per commit, appended right after the commit with no fsync of its
// own: it survives a crash of the process (the page cache keeps it), and its records
// are matched to the log's commits when they are archived. On power loss its last
// records may be lost; the commits they timed are then archived as one, at the log
// file's modification time.
//
//	record (36 bytes): log salt1 u32, salt2 u32, log end offset u64, seq u64,
//	                   time i64 (Unix ns), CRC-32C of the 32 bytes before u32

const pendingRecSize = 36

type pendingRec struct {
	salt1, salt2 uint32
	walEnd       int64
	seq          uint64
	time         int64
}

func (p pendingRec) encode() []byte {
	b := make([]byte, pendingRecSize)
	binary.BigEndian.PutUint32(b[0:], p.salt1)
	binary.BigEndian.PutUint32(b[4:], p.salt2)
	binary.BigEndian.PutUint64(b[8:], uint64(p.walEnd))
	binary.BigEndian.PutUint64(b[16:], p.seq)
	binary.BigEndian.PutUint64(b[24:], uint64(p.time))
	binary.BigEndian.PutUint32(b[32:], crc32.Checksum(b[:32], castagnoli))
	return b
}

// decodePending returns the records of a pending file's content up to the first
// that is cut short or fails its checksum (the file is a hint: what cannot be read
// only loses times, never commits).
func decodePending(b []byte) []pendingRec {
	var out []pendingRec
	for ; len(b) >= pendingRecSize; b = b[pendingRecSize:] {
		if crc32.Checksum(b[:32], castagnoli) != binary.BigEndian.Uint32(b[32:]) {
			break
		}
		out = append(out, pendingRec{salt1: binary.BigEndian.Uint32(b[0:]), salt2: binary.BigEndian.Uint32(b[4:]),
			walEnd: int64(binary.BigEndian.Uint64(b[8:])), seq: binary.BigEndian.Uint64(b[16:]),
			time: int64(binary.BigEndian.Uint64(b[24:]))})
	}
	return out
}
