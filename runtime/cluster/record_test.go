package cluster

import (
	"bytes"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	pages := &pageSet{pageSize: 512, dbSize: 3, pages: map[uint32][]byte{
		3: bytes.Repeat([]byte{3}, 512), 1: bytes.Repeat([]byte{1}, 512), 7: bytes.Repeat([]byte{7}, 512), // 7: truncated away
	}}
	ref := blobRef{name: "k/snap-1-2", size: 99, digest: [32]byte{1, 2, 3}}
	for _, b := range [][]byte{encodeEpoch(5, "node-a"), encodeFrames(6, pages), encodeBlob(kindBlob, 7, ref), encodeBlob(kindSnap, 8, ref)} {
		r, err := decodeRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		if got := reencode(r); !bytes.Equal(got, b) {
			t.Fatalf("kind %q: re-encoded differently", r.kind)
		}
	}
	r, _ := decodeRecord(encodeFrames(6, pages))
	if len(r.pages.pages) != 2 || r.pages.pages[7] != nil {
		t.Fatalf("pages past the size were shipped: %v", r.pages.sortedPages())
	}
}

func reencode(r record) []byte {
	switch r.kind {
	case kindEpoch:
		return encodeEpoch(r.epoch, r.node)
	case kindFrames:
		return encodeFrames(r.epoch, r.pages)
	default:
		return encodeBlob(r.kind, r.epoch, r.blob)
	}
}

// FuzzDecodeRecord: any bytes read from a log decode to a record or an error, never
// a panic or an allocation beyond their length, and a decoded record encodes to a
// record that decodes to the same.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeEpoch(1, "n1"))
	f.Add(encodeFrames(2, &pageSet{pageSize: 512, dbSize: 2, pages: map[uint32][]byte{2: make([]byte, 512), 1: make([]byte, 512)}}))
	f.Add(encodeBlob(kindSnap, 3, blobRef{name: "x", size: 4}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		again, err := decodeRecord(reencode(r))
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !bytes.Equal(reencode(again), reencode(r)) {
			t.Fatal("round trip changed the record")
		}
	})
}
