package walfile

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// checksumRef is SQLite's walChecksumBytes as written in its source: one loop,
// the byte order chosen per word.
func checksumRef(bigEndian bool, b []byte, s1, s2 uint32) (uint32, uint32) {
	order := binary.ByteOrder(binary.LittleEndian)
	if bigEndian {
		order = binary.BigEndian
	}
	for i := 0; i+8 <= len(b); i += 8 {
		s1 += order.Uint32(b[i:]) + s2
		s2 += order.Uint32(b[i+4:]) + s1
	}
	return s1, s2
}

func TestChecksumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 7, 8, 24, 100, 4096, 4120, 65536 + 24} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		for _, be := range []bool{false, true} {
			s1, s2 := r.Uint32(), r.Uint32()
			g1, g2 := Checksum(be, b, s1, s2)
			w1, w2 := checksumRef(be, b, s1, s2)
			if g1 != w1 || g2 != w2 {
				t.Fatalf("%d bytes, big-endian %v: %08x %08x, want %08x %08x", n, be, g1, g2, w1, w2)
			}
		}
	}
}

func BenchmarkChecksum(b *testing.B) {
	page := make([]byte, 4096+FrameHeaderSize)
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		Checksum(false, page, 1, 2)
	}
}

// TestAtResumes: a cursor from At, past one commit, reads the same commits after it
// as one read of the whole log.
func TestAtResumes(t *testing.T) {
	wal := buildWAL(t, 512, [][]uint32{{1, 2}, {2}, {3, 1, 2}, {2}})
	h, all, ok := Commits(wal)
	if !ok || len(all) != 4 {
		t.Fatalf("%d commits, ok %v", len(all), ok)
	}
	for i := range all {
		c := At(h, all[i])
		rest := c.Next(wal[all[i].End:])
		if len(rest) != len(all)-i-1 {
			t.Fatalf("after commit %d: %d commits, want %d", i, len(rest), len(all)-i-1)
		}
		for k, r := range rest {
			if w := all[i+1+k]; r.End != w.End || r.S1 != w.S1 || r.S2 != w.S2 || len(r.Pages) != len(w.Pages) {
				t.Fatalf("after commit %d, commit %d: %+v, want %+v", i, k, r, w)
			}
		}
	}
	// A cursor one commit too far back (a stale checksum) reads nothing.
	c := At(h, all[1])
	if got := c.Next(wal[all[0].End:]); len(got) != 0 {
		t.Fatalf("a cursor at the wrong offset read %d commits", len(got))
	}
}

// buildWAL writes a little-endian log of page size ps with one commit per element
// of commits (the pages it writes, the last frame the commit frame).
func buildWAL(t *testing.T, ps int, commits [][]uint32) []byte {
	t.Helper()
	b := make([]byte, HeaderSize)
	binary.BigEndian.PutUint32(b[0:], magicLE)
	binary.BigEndian.PutUint32(b[4:], version)
	binary.BigEndian.PutUint32(b[8:], uint32(ps))
	binary.BigEndian.PutUint32(b[16:], 11)
	binary.BigEndian.PutUint32(b[20:], 22)
	s1, s2 := Checksum(false, b[:24], 0, 0)
	binary.BigEndian.PutUint32(b[24:], s1)
	binary.BigEndian.PutUint32(b[28:], s2)
	for ci, pages := range commits {
		for pi, n := range pages {
			fh := make([]byte, FrameHeaderSize)
			binary.BigEndian.PutUint32(fh[0:], n)
			if pi == len(pages)-1 {
				binary.BigEndian.PutUint32(fh[4:], 3)
			}
			binary.BigEndian.PutUint32(fh[8:], 11)
			binary.BigEndian.PutUint32(fh[12:], 22)
			page := make([]byte, ps)
			for i := range page {
				page[i] = byte(ci*7 + pi + i)
			}
			s1, s2 = Checksum(false, fh[:8], s1, s2)
			s1, s2 = Checksum(false, page, s1, s2)
			binary.BigEndian.PutUint32(fh[16:], s1)
			binary.BigEndian.PutUint32(fh[20:], s2)
			b = append(append(b, fh...), page...)
		}
	}
	return b
}
