// Package walfile reads SQLite write-ahead log files
// (https://sqlite.org/fileformat2.html#walformat) the way SQLite's own recovery does:
// a header with a valid checksum, then frames whose salts match the header and whose
// running checksum holds. Frames after the last valid commit frame (an unfinished
// transaction, a torn write, frames of an earlier generation of the log) are not part
// of any commit.
package walfile

import "encoding/binary"

// Sizes and magic numbers of the format.
const (
	HeaderSize      = 32
	FrameHeaderSize = 24
	magicLE         = 0x377f0682 // checksums of little-endian 32-bit words
	magicBE         = 0x377f0683 // checksums of big-endian 32-bit words
	version         = 3007000
)

// Header is a validated log header. S1 and S2 are the running checksum after it,
// where the first frame's checksum continues.
type Header struct {
	BigEndian    bool
	PageSize     int
	Salt1, Salt2 uint32
	S1, S2       uint32
}

// ParseHeader validates the first 32 bytes of a log (magic, version, page size,
// checksum). ok is false for anything SQLite would ignore.
func ParseHeader(b []byte) (h Header, ok bool) {
	if len(b) < HeaderSize {
		return Header{}, false
	}
	magic := binary.BigEndian.Uint32(b[0:])
	if magic != magicLE && magic != magicBE {
		return Header{}, false
	}
	pageSize := int(binary.BigEndian.Uint32(b[8:]))
	if binary.BigEndian.Uint32(b[4:]) != version || !ValidPageSize(pageSize) {
		return Header{}, false
	}
	h = Header{BigEndian: magic&1 == 1, PageSize: pageSize,
		Salt1: binary.BigEndian.Uint32(b[16:]), Salt2: binary.BigEndian.Uint32(b[20:])}
	h.S1, h.S2 = Checksum(h.BigEndian, b[:24], 0, 0)
	if h.S1 != binary.BigEndian.Uint32(b[24:]) || h.S2 != binary.BigEndian.Uint32(b[28:]) {
		return Header{}, false
	}
	return h, true
}

// ValidPageSize reports whether n is a page size SQLite can have.
func ValidPageSize(n int) bool { return n >= 512 && n <= 65536 && n&(n-1) == 0 }

// Checksum is SQLite's log checksum (walChecksumBytes) over b, whose length is a
// multiple of 8, continuing from s1, s2.
func Checksum(bigEndian bool, b []byte, s1, s2 uint32) (uint32, uint32) {
	// One loop per byte order: reading through a binary.ByteOrder interface costs a
	// dynamic call per word, and an archive checks every byte of the log.
	if bigEndian {
		for ; len(b) >= 8; b = b[8:] {
			s1 += binary.BigEndian.Uint32(b) + s2
			s2 += binary.BigEndian.Uint32(b[4:]) + s1
		}
		return s1, s2
	}
	for ; len(b) >= 8; b = b[8:] {
		s1 += binary.LittleEndian.Uint32(b) + s2
		s2 += binary.LittleEndian.Uint32(b[4:]) + s1
	}
	return s1, s2
}

// Commit is one committed transaction of a log: the pages it wrote (the last version
// of each), the database size in pages after it, and End, the byte offset in the log
// just past its commit frame.
type Commit struct {
	End    int64
	DBSize uint32
	Pages  map[uint32][]byte
	// S1, S2: the running checksum after its commit frame, where the next frame's
	// continues (a Cursor at End carries them).
	S1, S2 uint32
}

// Cursor follows one generation of a log (one header's salts) across reads: where
// its committed frames end and the running checksum there. The zero value has read
// nothing.
type Cursor struct {
	Header
	Valid  bool  // a header was read
	Offset int64 // byte offset just past the last commit frame read
}

// Start positions the cursor just after the header h.
func (c *Cursor) Start(h Header) { *c = Cursor{Header: h, Valid: true, Offset: HeaderSize} }

// Next decodes the transactions committed in tail, the log's bytes from c.Offset on,
// and advances the cursor past the last of them. Frames after the last commit frame
// are left for a later call. The pages alias tail.
func (c *Cursor) Next(tail []byte) []Commit {
	commits, _ := c.Scan(tail)
	return commits
}

// Scan is Next that also reports whether the valid frames run to the end of tail
// (more: a longer read may hold more of them) rather than stop at a frame that is
// not the log's (another generation's, or torn).
func (c *Cursor) Scan(tail []byte) (commits []Commit, more bool) {
	more = true
	s1, s2 := c.S1, c.S2
	frameSize := FrameHeaderSize + c.PageSize
	pending := map[uint32][]byte{}
	for at := 0; at+frameSize <= len(tail); at += frameSize {
		fh := tail[at : at+FrameHeaderSize]
		page := tail[at+FrameHeaderSize : at+frameSize]
		pgno := binary.BigEndian.Uint32(fh[0:])
		if pgno == 0 || binary.BigEndian.Uint32(fh[8:]) != c.Salt1 || binary.BigEndian.Uint32(fh[12:]) != c.Salt2 {
			more = false
			break
		}
		s1, s2 = Checksum(c.BigEndian, fh[:8], s1, s2)
		s1, s2 = Checksum(c.BigEndian, page, s1, s2)
		if s1 != binary.BigEndian.Uint32(fh[16:]) || s2 != binary.BigEndian.Uint32(fh[20:]) {
			more = false
			break
		}
		pending[pgno] = page
		if size := binary.BigEndian.Uint32(fh[4:]); size != 0 {
			end := c.Offset + int64(at+frameSize)
			commits = append(commits, Commit{End: end, DBSize: size, Pages: pending, S1: s1, S2: s2})
			pending = map[uint32][]byte{}
			c.S1, c.S2 = s1, s2
		}
	}
	if n := len(commits); n > 0 {
		c.Offset = commits[n-1].End
	}
	return commits, more
}

// Ends is Scan for the writer of the log, right after its own commit: it advances the
// cursor past the commit frames in tail, the log's bytes from c.Offset on, checking
// only that each frame carries the generation's salts (a frame of an earlier
// generation does not), not the running checksum, and returns the new Offset (0:
// no commit frame in tail). Committed frames are never rewritten within a
// generation, so every commit frame it finds is one (a torn write after a crash is
// not among them: the writer's commit returned). more: the frames with the salts run
// to the end of tail (a longer read may hold more). After Ends the cursor's running
// checksum is stale: use Ends alone on it.
func (c *Cursor) Ends(tail []byte) (end int64, more bool) {
	more = true
	frameSize := FrameHeaderSize + c.PageSize
	for at := 0; at+frameSize <= len(tail); at += frameSize {
		fh := tail[at : at+FrameHeaderSize]
		if binary.BigEndian.Uint32(fh[0:]) == 0 || binary.BigEndian.Uint32(fh[8:]) != c.Salt1 || binary.BigEndian.Uint32(fh[12:]) != c.Salt2 {
			more = false
			break
		}
		if binary.BigEndian.Uint32(fh[4:]) != 0 {
			end = c.Offset + int64(at+frameSize)
		}
	}
	if end != 0 {
		c.Offset = end
	}
	return end, more
}

// At returns a cursor positioned just past commit c of the generation h, to read
// the commits after it with Next.
func At(h Header, c Commit) Cursor {
	h.S1, h.S2 = c.S1, c.S2
	return Cursor{Header: h, Valid: true, Offset: c.End}
}

// Commits returns the header and the committed transactions of a whole log file's
// content, in order. ok is false when the header is not valid (SQLite ignores such a
// log: it commits nothing). The pages alias wal.
func Commits(wal []byte) (h Header, commits []Commit, ok bool) {
	h, ok = ParseHeader(wal)
	if !ok {
		return Header{}, nil, false
	}
	var c Cursor
	c.Start(h)
	return h, c.Next(wal[HeaderSize:]), true
}
