package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/warrenhq/warren/runtime/internal/walfile"
)

// This file reads the frames that SQLite's COMMIT appended to a database's write-ahead
// log (https://sqlite.org/fileformat2.html#walformat) and applies page sets to a
// database file. It is the capture half of the fenced commit path: after every
// commit the object's committer reads the new committed frames and ships them.

const (
	walHeaderSize      = walfile.HeaderSize
	walFrameHeaderSize = walfile.FrameHeaderSize
)

// errWALRestarted means the log was reset (a checkpoint restarted it) by someone
// other than the committer since it last read it: frames committed in between may
// never have been read, so what was shipped can no longer be trusted to match the file.
var errWALRestarted = errors.New("cluster: the write-ahead log was restarted outside the committer (is wal_autocheckpoint 0?)")

// pageSet is the pages one or more commits wrote, each page once (the last version),
// and the database size in pages after the last of them. Applied to the database as
// it was before those commits, it gives the database after them.
type pageSet struct {
	pageSize int
	dbSize   uint32 // in pages
	pages    map[uint32][]byte
}

// empty reports whether the set changes nothing.
func (p *pageSet) empty() bool { return p == nil || len(p.pages) == 0 && p.dbSize == 0 }

// sortedPages returns the page numbers in ascending order, those past the database
// size left out (a page written, then truncated away by the same batch).
func (p *pageSet) sortedPages() []uint32 {
	nums := make([]uint32, 0, len(p.pages))
	for n := range p.pages {
		if n <= p.dbSize {
			nums = append(nums, n)
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	return nums
}

// merge adds later's pages over p's (later wins) and takes later's size.
func (p *pageSet) merge(later *pageSet) {
	for n, b := range later.pages {
		p.pages[n] = b
	}
	p.dbSize = later.dbSize
}

// walCursor follows one write-ahead log across commits: where the committed frames
// end, and the running checksum there. Its zero value expects a log it has never
// read (or one the committer itself reset with a checkpoint).
type walCursor struct {
	valid        bool // a header has been read
	bigEndian    bool
	pageSize     int
	salt1, salt2 uint32
	offset       int64  // byte offset just past the last committed frame read
	s1, s2       uint32 // running checksum at offset
}

// reset forgets the log: the committer calls it after it checkpointed and truncated
// the log itself, so the next header is expected to be new.
func (c *walCursor) reset() { *c = walCursor{} }

// decode reads the frames committed after the cursor in wal, the whole content of a
// log file (see decodeTail).
func (c *walCursor) decode(wal []byte) (*pageSet, error) {
	start := max(c.offset, walHeaderSize)
	if int64(len(wal)) <= start {
		return c.decodeTail(wal[:min(len(wal), walHeaderSize)], nil, int64(len(wal)))
	}
	return c.decodeTail(wal[:walHeaderSize], wal[start:], int64(len(wal)))
}

// decodeTail reads the frames committed after the cursor and advances it past the
// last commit frame. header is the log file's first bytes (up to 32), tail its bytes
// from the cursor's offset (32 for a cursor that has read nothing) to its end, size
// its size. Frames that follow the last commit frame (an unfinished transaction,
// garbage, a torn write) are left unread, exactly as SQLite's own recovery leaves
// them out. It returns an empty set when nothing was committed since the last call,
// and errWALRestarted when the log was reset since (its salts changed or it shrank)
// without the cursor being reset. The pages alias tail.
func (c *walCursor) decodeTail(header, tail []byte, size int64) (*pageSet, error) {
	if len(header) < walHeaderSize {
		if c.valid {
			return nil, errWALRestarted
		}
		return &pageSet{}, nil
	}
	h, ok := parseWALHeader(header)
	if !ok {
		if c.valid {
			return nil, errWALRestarted
		}
		return &pageSet{}, nil // SQLite ignores a log with a bad header
	}
	if !c.valid {
		*c = h
	} else if h.salt1 != c.salt1 || h.salt2 != c.salt2 || h.pageSize != c.pageSize || size < c.offset {
		return nil, errWALRestarted
	}
	out := &pageSet{pageSize: c.pageSize, pages: map[uint32][]byte{}}
	pending := map[uint32][]byte{}
	at, s1, s2 := 0, c.s1, c.s2 // at: position in tail, which starts at c.offset
	frameSize := walFrameHeaderSize + c.pageSize
	for at+frameSize <= len(tail) {
		fh := tail[at : at+walFrameHeaderSize]
		page := tail[at+walFrameHeaderSize : at+frameSize]
		pgno := binary.BigEndian.Uint32(fh[0:])
		commit := binary.BigEndian.Uint32(fh[4:])
		if pgno == 0 || binary.BigEndian.Uint32(fh[8:]) != c.salt1 || binary.BigEndian.Uint32(fh[12:]) != c.salt2 {
			break
		}
		s1, s2 = walChecksum(c.bigEndian, fh[:8], s1, s2)
		s1, s2 = walChecksum(c.bigEndian, page, s1, s2)
		if s1 != binary.BigEndian.Uint32(fh[16:]) || s2 != binary.BigEndian.Uint32(fh[20:]) {
			break
		}
		pending[pgno] = page
		at += frameSize
		if commit != 0 {
			for n, b := range pending {
				out.pages[n] = b
			}
			clear(pending)
			out.dbSize = commit
			c.offset, c.s1, c.s2 = c.offset+int64(at), s1, s2
			tail, at = tail[at:], 0
		}
	}
	return out, nil
}

// parseWALHeader validates a log header as SQLite's recovery does (magic, version,
// page size, checksum) and returns a cursor positioned at the first frame.
func parseWALHeader(b []byte) (walCursor, bool) {
	h, ok := walfile.ParseHeader(b)
	if !ok {
		return walCursor{}, false
	}
	return walCursor{valid: true, bigEndian: h.BigEndian, pageSize: h.PageSize, salt1: h.Salt1, salt2: h.Salt2,
		offset: walHeaderSize, s1: h.S1, s2: h.S2}, true
}

func validPageSize(n int) bool { return walfile.ValidPageSize(n) }

// walChecksum is SQLite's log checksum over b (walfile.Checksum).
func walChecksum(bigEndian bool, b []byte, s1, s2 uint32) (uint32, uint32) {
	return walfile.Checksum(bigEndian, b, s1, s2)
}

// readCommitted reads the frames committed to the log of the database at dbPath
// since the cursor: the header and what follows the cursor, not the whole file. A
// missing log is an empty one.
func (c *walCursor) readCommitted(dbPath string) (*pageSet, error) {
	f, err := os.Open(dbPath + "-wal")
	if errors.Is(err, os.ErrNotExist) {
		return c.decodeTail(nil, nil, 0)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	header := make([]byte, min(size, walHeaderSize))
	if _, err := f.ReadAt(header, 0); err != nil {
		return nil, err
	}
	var tail []byte
	if start := max(c.offset, walHeaderSize); size > start {
		tail = make([]byte, size-start)
		if _, err := f.ReadAt(tail, start); err != nil {
			return nil, err
		}
	}
	return c.decodeTail(header, tail, size)
}

// dbPageSize reads the page size from a database file's header (offset 16, where 1
// means 65536).
func dbPageSize(header []byte) (int, error) {
	if len(header) < 100 || string(header[:16]) != "SQLite format 3\x00" {
		return 0, errors.New("cluster: not an SQLite database")
	}
	n := int(binary.BigEndian.Uint16(header[16:]))
	if n == 1 {
		n = 65536
	}
	if !validPageSize(n) {
		return 0, fmt.Errorf("cluster: bad page size %d", n)
	}
	return n, nil
}

// fullImage returns every page of the database at dbPath as committed now: the main
// file with the log's committed frames over it. It advances the cursor like
// readCommitted. The first commit of a new object ships it, since the log holds no
// earlier state to apply a delta to.
func (c *walCursor) fullImage(dbPath string) (*pageSet, error) {
	delta, err := c.readCommitted(dbPath)
	if err != nil {
		return nil, err
	}
	main, err := os.ReadFile(dbPath)
	if err != nil {
		return nil, err
	}
	out := &pageSet{pages: map[uint32][]byte{}}
	if len(main) > 0 {
		if out.pageSize, err = dbPageSize(main); err != nil {
			return nil, err
		}
		if len(main)%out.pageSize != 0 {
			return nil, fmt.Errorf("cluster: database size %d is not a multiple of its page size %d", len(main), out.pageSize)
		}
		for i := 0; i < len(main)/out.pageSize; i++ {
			out.pages[uint32(i+1)] = main[i*out.pageSize : (i+1)*out.pageSize]
		}
		out.dbSize = uint32(len(main) / out.pageSize)
	}
	if !delta.empty() {
		if out.pageSize != 0 && out.pageSize != delta.pageSize {
			return nil, fmt.Errorf("cluster: log page size %d differs from the database's %d", delta.pageSize, out.pageSize)
		}
		out.pageSize = delta.pageSize
		out.merge(delta)
	}
	return out, nil
}

// apply writes the pages into the database file f and sets its size to the set's.
func (p *pageSet) apply(f *os.File) error {
	for _, n := range p.sortedPages() {
		if _, err := f.WriteAt(p.pages[n], int64(n-1)*int64(p.pageSize)); err != nil {
			return err
		}
	}
	return f.Truncate(int64(p.dbSize) * int64(p.pageSize))
}
