package history

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/warrenhq/warren/runtime/internal/walfile"
)

// segmentBytes is a well-formed segment of n records of pages of 512 bytes.
func segmentBytes(n int) []byte {
	b := segHeader{pageSize: 512, firstSeq: 7, firstTime: 100}.encode()
	for i := range n {
		r := &record{seq: 7 + uint64(i), time: 100 + int64(i), salt1: 1, salt2: 2, walEnd: int64(32 + i*536), dbSize: 3,
			pages: map[uint32][]byte{1: bytes.Repeat([]byte{byte(i)}, 512), uint32(2 + i%2): make([]byte, 512)}}
		b = encodeRecord(b, r, 512)
	}
	return b
}

// scanAll reads every record of a segment's bytes, with pages.
func scanAll(b []byte) ([]record, error) {
	sc, err := newSegScanner(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	var out []record
	for {
		r, err := sc.next(true)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
}

func TestSegmentRoundTrip(t *testing.T) {
	b := segmentBytes(5)
	recs, err := scanAll(b)
	if err != nil || len(recs) != 5 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	if recs[4].seq != 11 || recs[4].pages[1][0] != 4 || len(recs[4].pages) != 2 {
		t.Fatalf("record 4: %+v", recs[4])
	}
	// Every cut inside the last record is a torn tail; a flipped byte in a body is
	// a checksum mismatch; a flipped byte in the header is a bad header.
	last := len(segmentBytes(4))
	for cut := last + 1; cut < len(b); cut += 97 {
		if _, err := scanAll(b[:cut]); !errors.Is(err, errTorn) {
			t.Fatalf("cut at %d: %v, want errTorn", cut, err)
		}
	}
	bad := bytes.Clone(b)
	bad[last+60] ^= 1
	if _, err := scanAll(bad); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("flipped body byte: %v", err)
	}
	bad = bytes.Clone(b)
	bad[10] ^= 1
	if _, err := scanAll(bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("flipped header byte: %v", err)
	}
}

// FuzzSegment: any bytes read as a segment give records or a clear error, never a
// panic, and never allocate beyond the file's size.
func FuzzSegment(f *testing.F) {
	f.Add(segmentBytes(0))
	f.Add(segmentBytes(3))
	f.Add(segmentBytes(3)[:200])
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := scanAll(b)
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, errTorn) {
			t.Fatalf("unclassified error: %v", err)
		}
		for i, r := range recs {
			if i > 0 && (r.seq != recs[i-1].seq+1 || r.time < recs[i-1].time) {
				t.Fatalf("records out of order: %+v after %+v", r, recs[i-1])
			}
			if int(r.npages) != len(r.pages) {
				t.Fatalf("record says %d pages, holds %d", r.npages, len(r.pages))
			}
		}
	})
}

// FuzzBaseHeader: a base header decodes or fails with ErrCorrupt.
func FuzzBaseHeader(f *testing.F) {
	f.Add(baseHeader{seq: 3, time: 9, size: 4096, sum: 1}.encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeBaseHeader(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if h.size < 0 || !bytes.Equal(h.encode(), b[:baseHeaderSize]) {
			t.Fatalf("accepted a header that does not round-trip: %+v", h)
		}
	})
}

// FuzzPending: any bytes give the records up to the first bad one.
func FuzzPending(f *testing.F) {
	f.Add(append(pendingRec{1, 2, 3, 4, 5}.encode(), pendingRec{1, 2, 9, 5, 6}.encode()...))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs := decodePending(b)
		if len(recs)*pendingRecSize > len(b) {
			t.Fatalf("%d records from %d bytes", len(recs), len(b))
		}
		for i, r := range recs {
			if !bytes.Equal(r.encode(), b[i*pendingRecSize:(i+1)*pendingRecSize]) {
				t.Fatalf("record %d does not round-trip", i)
			}
		}
	})
}

// FuzzBookmark: a client's bookmark is accepted only if it is exactly one this
// package wrote for the object.
func FuzzBookmark(f *testing.F) {
	const obj = "ns/0123"
	f.Add(encodeBookmark(obj, 42, 1700000000000000000))
	f.Add(encodeBookmark("other/1", 42, 1))
	f.Add(strings.ToUpper(encodeBookmark(obj, 1, 2)))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		seq, at, err := parseBookmark(obj, s)
		if err != nil {
			if !errors.Is(err, ErrBadBookmark) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if encodeBookmark(obj, seq, at) != s {
			t.Fatalf("accepted %q, which is not the bookmark of (%d, %d)", s, seq, at)
		}
	})
}

// FuzzWAL: any bytes read as a write-ahead log give commits inside the file.
func FuzzWAL(f *testing.F) {
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, commits, ok := walfile.Commits(b)
		if !ok {
			return
		}
		for _, c := range commits {
			if c.End > int64(len(b)) || c.DBSize == 0 {
				t.Fatalf("commit %+v outside %d bytes", c, len(b))
			}
			for _, p := range c.Pages {
				if len(p) != h.PageSize {
					t.Fatalf("page of %d bytes, want %d", len(p), h.PageSize)
				}
			}
		}
		// Ends (salts only) finds at least the commits the checksums vouch for, and
		// never ends outside the log.
		var c walfile.Cursor
		c.Start(h)
		end, _ := c.Ends(b[walfile.HeaderSize:])
		if end > int64(len(b)) || len(commits) > 0 && end < commits[len(commits)-1].End {
			t.Fatalf("Ends at %d, Scan's last commit at %+v, %d bytes", end, commits, len(b))
		}
	})
}
