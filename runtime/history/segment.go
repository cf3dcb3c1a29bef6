package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"sort"

	"github.com/warrenhq/warren/runtime/internal/walfile"
)

// A segment file holds commits in order, each the pages one commit wrote:
//
//	header (32 bytes): "WRNHSEG1", page size u32, first seq u64, first time i64
//	                   (Unix ns; the first record's), CRC-32C of the 28 bytes before u32
//	record: body length u32, CRC-32C of the body u32, body
//	body:   seq u64, time i64 (Unix ns), log salt1 u32, salt2 u32, log end offset u64,
//	        database size in pages u32, page count u32, then per page: number u32, bytes
//
// All integers are big-endian. A segment ends at a record boundary; a record cut
// short at the end is what a crash during an archive leaves (errTorn).

const (
	segMagic      = "WRNHSEG1"
	segHeaderSize = 32
	recHeaderSize = 8
	recFixedSize  = 40 // the body before its pages
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errTorn means a file ends inside a record: the tail a crash during an append left.
var errTorn = errors.New("history: a record is cut short at the end of the file")

// segHeader is a segment's header.
type segHeader struct {
	pageSize  int
	firstSeq  uint64
	firstTime int64
}

func (h segHeader) encode() []byte {
	b := make([]byte, segHeaderSize)
	copy(b, segMagic)
	binary.BigEndian.PutUint32(b[8:], uint32(h.pageSize))
	binary.BigEndian.PutUint64(b[12:], h.firstSeq)
	binary.BigEndian.PutUint64(b[20:], uint64(h.firstTime))
	binary.BigEndian.PutUint32(b[28:], crc32.Checksum(b[:28], castagnoli))
	return b
}

func decodeSegHeader(b []byte) (segHeader, error) {
	if len(b) < segHeaderSize {
		return segHeader{}, fmt.Errorf("%w: segment header: %d bytes, want %d", ErrCorrupt, len(b), segHeaderSize)
	}
	if string(b[:8]) != segMagic {
		return segHeader{}, fmt.Errorf("%w: not a history segment (magic %q)", ErrCorrupt, b[:8])
	}
	if crc32.Checksum(b[:28], castagnoli) != binary.BigEndian.Uint32(b[28:]) {
		return segHeader{}, fmt.Errorf("%w: segment header checksum mismatch", ErrCorrupt)
	}
	h := segHeader{pageSize: int(binary.BigEndian.Uint32(b[8:])), firstSeq: binary.BigEndian.Uint64(b[12:]),
		firstTime: int64(binary.BigEndian.Uint64(b[20:]))}
	if !walfile.ValidPageSize(h.pageSize) {
		return segHeader{}, fmt.Errorf("%w: segment page size %d", ErrCorrupt, h.pageSize)
	}
	return h, nil
}

// record is one archived commit. pages is nil when only its header was read.
type record struct {
	seq          uint64
	time         int64
	salt1, salt2 uint32
	walEnd       int64
	dbSize       uint32
	npages       uint32
	pages        map[uint32][]byte
}

// encodeRecord appends r (with its pages, each pageSize bytes) to b.
func encodeRecord(b []byte, r *record, pageSize int) []byte {
	nums := make([]uint32, 0, len(r.pages))
	for n := range r.pages {
		nums = append(nums, n)
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	bodyLen := recFixedSize + len(nums)*(4+pageSize)
	start := len(b)
	b = slices.Grow(b, recHeaderSize+bodyLen)[:start+recHeaderSize+bodyLen]
	body := b[start+recHeaderSize:]
	binary.BigEndian.PutUint64(body[0:], r.seq)
	binary.BigEndian.PutUint64(body[8:], uint64(r.time))
	binary.BigEndian.PutUint32(body[16:], r.salt1)
	binary.BigEndian.PutUint32(body[20:], r.salt2)
	binary.BigEndian.PutUint64(body[24:], uint64(r.walEnd))
	binary.BigEndian.PutUint32(body[32:], r.dbSize)
	binary.BigEndian.PutUint32(body[36:], uint32(len(nums)))
	at := recFixedSize
	for _, n := range nums {
		binary.BigEndian.PutUint32(body[at:], n)
		copy(body[at+4:at+4+pageSize], r.pages[n])
		at += 4 + pageSize
	}
	binary.BigEndian.PutUint32(b[start:], uint32(bodyLen))
	binary.BigEndian.PutUint32(b[start+4:], crc32.Checksum(body, castagnoli))
	return b
}

// decodeRecordHead reads the fixed part of a record's body.
func decodeRecordHead(body []byte) record {
	return record{
		seq: binary.BigEndian.Uint64(body[0:]), time: int64(binary.BigEndian.Uint64(body[8:])),
		salt1: binary.BigEndian.Uint32(body[16:]), salt2: binary.BigEndian.Uint32(body[20:]),
		walEnd: int64(binary.BigEndian.Uint64(body[24:])), dbSize: binary.BigEndian.Uint32(body[32:]),
		npages: binary.BigEndian.Uint32(body[36:]),
	}
}

// segScanner reads a segment's records in order, checking each as it goes.
type segScanner struct {
	r      io.ReaderAt
	hdr    segHeader
	size   int64 // of the file
	offset int64 // of the next record
	prev   *record
}

// newSegScanner reads the header of a segment of size bytes.
func newSegScanner(r io.ReaderAt, size int64) (*segScanner, error) {
	b := make([]byte, segHeaderSize)
	if _, err := r.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("%w: segment header: %v", ErrCorrupt, err)
	}
	h, err := decodeSegHeader(b)
	if err != nil {
		return nil, err
	}
	return &segScanner{r: r, hdr: h, size: size, offset: segHeaderSize}, nil
}

// next returns the next record: with its pages (checked against its checksum) if
// full, else its head only (a head-only scan reads a few bytes per record). It
// returns io.EOF at the end of the file, errTorn for a record cut short there,
// ErrCorrupt for anything else that is not a well-formed record following the
// previous one (sequence numbers one apart, times not going back).
func (s *segScanner) next(full bool) (record, error) {
	remain := s.size - s.offset
	if remain == 0 {
		return record{}, io.EOF
	}
	if remain < recHeaderSize+recFixedSize {
		return record{}, errTorn
	}
	var h [recHeaderSize + recFixedSize]byte
	if _, err := s.r.ReadAt(h[:], s.offset); err != nil {
		return record{}, fmt.Errorf("history: read segment: %w", err)
	}
	bodyLen := int64(binary.BigEndian.Uint32(h[0:]))
	sum := binary.BigEndian.Uint32(h[4:])
	pageSize := int64(s.hdr.pageSize)
	if bodyLen < recFixedSize || (bodyLen-recFixedSize)%(4+pageSize) != 0 {
		return record{}, fmt.Errorf("%w: record at offset %d has length %d, not one of pages of %d bytes", ErrCorrupt, s.offset, bodyLen, pageSize)
	}
	if bodyLen > remain-recHeaderSize {
		return record{}, errTorn
	}
	r := decodeRecordHead(h[recHeaderSize:])
	if int64(r.npages) != (bodyLen-recFixedSize)/(4+pageSize) {
		return record{}, fmt.Errorf("%w: record at offset %d says %d pages in %d bytes", ErrCorrupt, s.offset, r.npages, bodyLen)
	}
	want := s.hdr.firstSeq
	if s.prev != nil {
		want = s.prev.seq + 1
	}
	if r.seq != want {
		return record{}, fmt.Errorf("%w: record at offset %d has sequence number %d, want %d", ErrCorrupt, s.offset, r.seq, want)
	}
	if s.prev != nil && r.time < s.prev.time || s.prev == nil && r.time != s.hdr.firstTime {
		return record{}, fmt.Errorf("%w: record %d at offset %d goes back in time", ErrCorrupt, r.seq, s.offset)
	}
	if full {
		body := make([]byte, bodyLen)
		if _, err := s.r.ReadAt(body, s.offset+recHeaderSize); err != nil {
			return record{}, fmt.Errorf("history: read segment: %w", err)
		}
		if crc32.Checksum(body, castagnoli) != sum {
			return record{}, fmt.Errorf("%w: record %d at offset %d: checksum mismatch", ErrCorrupt, r.seq, s.offset)
		}
		r.pages = make(map[uint32][]byte, r.npages)
		for at := int64(recFixedSize); at < bodyLen; at += 4 + pageSize {
			n := binary.BigEndian.Uint32(body[at:])
			if n == 0 {
				return record{}, fmt.Errorf("%w: record %d holds page 0", ErrCorrupt, r.seq)
			}
			if _, dup := r.pages[n]; dup {
				return record{}, fmt.Errorf("%w: record %d holds page %d twice", ErrCorrupt, r.seq, n)
			}
			r.pages[n] = body[at+4 : at+4+pageSize]
		}
	}
	s.offset += recHeaderSize + bodyLen
	head := r
	head.pages = nil
	s.prev = &head
	return r, nil
}
