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
//	SNAP   the whole database at this point, stored in the object store (also the state
//	       a restore to a bookmark committed, history.go)
//
// Every record starts with a version byte, its kind and the epoch of its writer
// (big-endian), so the epoch of the log's tail is known without decoding the rest.
// Version 2 records (written since the log became the object's history) then carry
// their commit time (Unix nanoseconds, never going back along a log), the sequence of
// the record a restore of the state after them starts from (base: the latest SNAP,
// or the first commit's whole image, before them; 0 for none) and flags (flagFull:
// the record holds the whole database, a restore starts from it). Version 1 records
// (a log from before, which a snapshot rolled up) have no time (0) and no base: a
// restore reads such a log from its first record.
const (
	recordVersion   byte = 2
	recordVersionV1 byte = 1

	flagFull byte = 1

	kindEpoch  byte = 'E'
	kindFrames byte = 'F'
	kindBlob   byte = 'B'
	kindSnap   byte = 'S'

	recordHeaderSize   = 1 + 1 + 8
	recordHeaderSizeV2 = recordHeaderSize + 8 + 8 + 1
	maxNameLen         = 1024
)

// meta is what a version 2 record carries beyond its kind and epoch.
type meta struct {
	at   int64  // commit time, Unix nanoseconds
	base uint64 // the record a restore starts from (0: none), unless full
	full bool   // the record holds the whole database
}

// record is one decoded log record. Which fields are set depends on kind.
type record struct {
	version byte
	kind    byte
	epoch   uint64
	meta
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

func appendHeader(b []byte, kind byte, epoch uint64, m meta) []byte {
	b = append(b, recordVersion, kind)
	b = binary.BigEndian.AppendUint64(b, epoch)
	b = binary.BigEndian.AppendUint64(b, uint64(m.at))
	b = binary.BigEndian.AppendUint64(b, m.base)
	var flags byte
	if m.full {
		flags |= flagFull
	}
	return append(b, flags)
}

// start returns the sequence a restore of the state after this record (at seq)
// starts from: the record itself when it holds the whole database, else its base; 0
// when the log holds no database up to it. ok is false for a version 1 record,
// which does not say (the log's first record is where such a restore starts).
func (r record) start(seq uint64) (start uint64, ok bool) {
	switch {
	case r.version == recordVersionV1:
		return 0, false
	case r.kind == kindSnap || r.full && (r.kind == kindFrames || r.kind == kindBlob):
		return seq, true
	default:
		return r.base, true
	}
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func encodeEpoch(epoch uint64, node string, m meta) []byte {
	return appendString(appendHeader(nil, kindEpoch, epoch, m), node)
}

// encodeFrames lays out a page set: page size, database size and page count
// (uint32 each), then each page as its number (uint32) and its bytes, in page order.
func encodeFrames(epoch uint64, p *pageSet, m meta) []byte {
	nums := p.sortedPages()
	b := make([]byte, 0, recordHeaderSizeV2+12+len(nums)*(4+p.pageSize))
	b = appendHeader(b, kindFrames, epoch, m)
	b = binary.BigEndian.AppendUint32(b, uint32(p.pageSize))
	b = binary.BigEndian.AppendUint32(b, p.dbSize)
	b = binary.BigEndian.AppendUint32(b, uint32(len(nums)))
	for _, n := range nums {
		b = binary.BigEndian.AppendUint32(b, n)
		b = append(b, p.pages[n]...)
	}
	return b
}

func encodeBlob(kind byte, epoch uint64, ref blobRef, m meta) []byte {
	b := appendString(appendHeader(nil, kind, epoch, m), ref.name)
	b = binary.BigEndian.AppendUint64(b, ref.size)
	return append(b, ref.digest[:]...)
}

// recordEpoch returns the epoch of an encoded record without decoding the rest.
func recordEpoch(b []byte) (uint64, error) {
	if len(b) < recordHeaderSize || b[0] != recordVersion && b[0] != recordVersionV1 ||
		b[0] == recordVersion && len(b) < recordHeaderSizeV2 {
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
	r := record{version: b[0], kind: b[1], epoch: epoch}
	rest := b[recordHeaderSize:]
	if r.version == recordVersion {
		r.at = int64(binary.BigEndian.Uint64(rest))
		r.base = binary.BigEndian.Uint64(rest[8:])
		flags := rest[16]
		if flags&^flagFull != 0 || r.at < 0 {
			return record{}, badRecord("flags %#x, time %d", flags, r.at)
		}
		r.full = flags&flagFull != 0
		rest = rest[17:]
	}
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
