package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The records of an object's log, in the order an owner writes them:
//
//	EPOCH  an owner's claim: every later record is by this owner, until the next EPOCH
//	FRAMES the pages of one committed batch and the database size after it
//	BLOB   a FRAMES record too big for one message, stored in the object store
//	SNAP   the whole database at this point, stored in the object store; written with a
//	       rollup, so it is the log's first record once it lands
//
// Every record starts with a version byte, its kind and the epoch of its writer
// (big-endian), so the epoch of the log's tail is known without decoding the rest.
const (
	recordVersion byte = 1

	kindEpoch  byte = 'E'
	kindFrames byte = 'F'
	kindBlob   byte = 'B'
	kindSnap   byte = 'S'

	recordHeaderSize = 1 + 1 + 8
	maxNameLen       = 1024
)

// record is one decoded log record. Which fields are set depends on kind.
type record struct {
	kind  byte
	epoch uint64
	node  string   // kindEpoch: the owner's node name
	pages *pageSet // kindFrames
	blob  blobRef  // kindBlob, kindSnap
}

// blobRef names an immutable object-store blob and pins its content.
type blobRef struct {
	name   string
	size   uint64
	digest [32]byte // SHA-256 of the content
}

var errBadRecord = errors.New("cluster: malformed log record")

func badRecord(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRecord, fmt.Sprintf(format, args...))
}

func appendHeader(b []byte, kind byte, epoch uint64) []byte {
	b = append(b, recordVersion, kind)
	return binary.BigEndian.AppendUint64(b, epoch)
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func encodeEpoch(epoch uint64, node string) []byte {
	return appendString(appendHeader(nil, kindEpoch, epoch), node)
}

// encodeFrames lays out a page set: page size, database size and page count
// (uint32 each), then each page as its number (uint32) and its bytes, in page order.
func encodeFrames(epoch uint64, p *pageSet) []byte {
	nums := p.sortedPages()
	b := make([]byte, 0, recordHeaderSize+12+len(nums)*(4+p.pageSize))
	b = appendHeader(b, kindFrames, epoch)
	b = binary.BigEndian.AppendUint32(b, uint32(p.pageSize))
	b = binary.BigEndian.AppendUint32(b, p.dbSize)
	b = binary.BigEndian.AppendUint32(b, uint32(len(nums)))
	for _, n := range nums {
		b = binary.BigEndian.AppendUint32(b, n)
		b = append(b, p.pages[n]...)
	}
	return b
}

func encodeBlob(kind byte, epoch uint64, ref blobRef) []byte {
	b := appendString(appendHeader(nil, kind, epoch), ref.name)
	b = binary.BigEndian.AppendUint64(b, ref.size)
	return append(b, ref.digest[:]...)
}

// recordEpoch returns the epoch of an encoded record without decoding the rest.
func recordEpoch(b []byte) (uint64, error) {
	if len(b) < recordHeaderSize || b[0] != recordVersion {
		return 0, badRecord("header")
	}
	return binary.BigEndian.Uint64(b[2:]), nil
}

// decodeRecord parses one record. It never allocates more than len(b) for pages, and
// it refuses trailing bytes, a bad page size, page number 0, a page past the
// database size, and a page listed twice.
func decodeRecord(b []byte) (record, error) {
	epoch, err := recordEpoch(b)
	if err != nil {
		return record{}, err
	}
	r := record{kind: b[1], epoch: epoch}
	rest := b[recordHeaderSize:]
	switch r.kind {
	case kindEpoch:
		if r.node, rest, err = readString(rest); err != nil {
			return record{}, err
		}
	case kindFrames:
		if r.pages, rest, err = decodePages(rest); err != nil {
			return record{}, err
		}
	case kindBlob, kindSnap:
		if r.blob.name, rest, err = readString(rest); err != nil {
			return record{}, err
		}
		if len(rest) < 8+32 {
			return record{}, badRecord("short blob reference")
		}
		r.blob.size = binary.BigEndian.Uint64(rest)
		copy(r.blob.digest[:], rest[8:40])
		rest = rest[40:]
	default:
		return record{}, badRecord("unknown kind %q", r.kind)
	}
	if len(rest) != 0 {
		return record{}, badRecord("%d trailing bytes", len(rest))
	}
	return r, nil
}

func readString(b []byte) (string, []byte, error) {
	if len(b) < 2 {
		return "", nil, badRecord("short string")
	}
	n := int(binary.BigEndian.Uint16(b))
	if n > maxNameLen || len(b) < 2+n {
		return "", nil, badRecord("string of %d bytes", n)
	}
	return string(b[2 : 2+n]), b[2+n:], nil
}

func decodePages(b []byte) (*pageSet, []byte, error) {
	if len(b) < 12 {
		return nil, nil, badRecord("short frames header")
	}
	p := &pageSet{pageSize: int(binary.BigEndian.Uint32(b)), dbSize: binary.BigEndian.Uint32(b[4:])}
	count := uint64(binary.BigEndian.Uint32(b[8:]))
	b = b[12:]
	if !validPageSize(p.pageSize) {
		return nil, nil, badRecord("page size %d", p.pageSize)
	}
	if count*uint64(4+p.pageSize) != uint64(len(b)) {
		return nil, nil, badRecord("%d pages of %d bytes in %d bytes", count, p.pageSize, len(b))
	}
	p.pages = make(map[uint32][]byte, count)
	for range count {
		n := binary.BigEndian.Uint32(b)
		if n == 0 || n > p.dbSize {
			return nil, nil, badRecord("page %d of a %d-page database", n, p.dbSize)
		}
		if _, dup := p.pages[n]; dup {
			return nil, nil, badRecord("page %d twice", n)
		}
		p.pages[n] = b[4 : 4+p.pageSize]
		b = b[4+p.pageSize:]
	}
	return p, b, nil
}
