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
	for _, b := range [][]byte{encodeEpoch(5, "node-a", meta{at: 1, base: 2}), encodeFrames(6, pages, meta{at: 3, full: true}), encodeBlob(kindBlob, 7, ref, meta{at: 4, base: 9}), encodeBlob(kindSnap, 8, ref, meta{at: 5, base: 1})} {
		r, err := decodeRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		if got := reencode(r); !bytes.Equal(got, b) {
			t.Fatalf("kind %q: re-encoded differently", r.kind)
		}
	}
	r, _ := decodeRecord(encodeFrames(6, pages, meta{}))
	if len(r.pages.pages) != 2 || r.pages.pages[7] != nil {
		t.Fatalf("pages past the size were shipped: %v", r.pages.sortedPages())
	}
}

func reencode(r record) []byte {
	var b []byte
	switch r.kind {
	case kindEpoch:
		b = encodeEpoch(r.epoch, r.node, r.meta)
	case kindFrames:
		b = encodeFrames(r.epoch, r.pages, r.meta)
	default:
		b = encodeBlob(r.kind, r.epoch, r.blob, r.meta)
	}
	if r.version == recordVersionV1 {
		b = toV1(b)
	}
	return b
}

// toV1 turns a version 2 record into the version 1 record of the same content (as
// logs written before held): no time, base or flags.
func toV1(b []byte) []byte {
	out := append([]byte{recordVersionV1}, b[1:recordHeaderSize]...)
	return append(out, b[recordHeaderSizeV2:]...)
}

// Version 1 records, which logs written before commit times were recorded hold,
// still decode: no time, and no base (a restore reads such a log from its start).
func TestRecordV1Decodes(t *testing.T) {
	ref := blobRef{name: "k/snap-1-2", size: 99, digest: [32]byte{1, 2, 3}}
	pages := &pageSet{pageSize: 512, dbSize: 1, pages: map[uint32][]byte{1: bytes.Repeat([]byte{1}, 512)}}
	for _, b := range [][]byte{encodeEpoch(5, "node-a", meta{at: 1}), encodeFrames(6, pages, meta{at: 2, full: true}), encodeBlob(kindSnap, 8, ref, meta{at: 3})} {
		r, err := decodeRecord(toV1(b))
		if err != nil {
			t.Fatal(err)
		}
		if r.version != recordVersionV1 || r.at != 0 || r.full || r.base != 0 {
			t.Fatalf("v1 record decoded as %+v", r.meta)
		}
		if _, ok := r.start(10); ok {
			t.Fatal("a v1 record claims to know where its restore starts")
		}
		if !bytes.Equal(reencode(r), toV1(b)) {
			t.Fatalf("kind %q: v1 re-encoded differently", r.kind)
		}
	}
}

// FuzzDecodeRecord: any bytes read from a log decode to a record or an error, never
// a panic or an allocation beyond their length, and a decoded record encodes to a
// record that decodes to the same.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeEpoch(1, "n1", meta{at: 7}))
	f.Add(encodeFrames(2, &pageSet{pageSize: 512, dbSize: 2, pages: map[uint32][]byte{2: make([]byte, 512), 1: make([]byte, 512)}}, meta{full: true}))
	f.Add(encodeBlob(kindSnap, 3, blobRef{name: "x", size: 4}, meta{base: 3}))
	f.Add(toV1(encodeBlob(kindSnap, 3, blobRef{name: "x", size: 4}, meta{})))
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
