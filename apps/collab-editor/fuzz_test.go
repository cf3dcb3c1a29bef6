package main

import (
	"bytes"
	"testing"
)

func seedUpdates() [][]byte {
	d := newYDoc()
	var out [][]byte
	for i, s := range []string{"hello", " wörld", "😀", "\n# title"} {
		sv, _ := d.StateVector()
		d.doc.GetText(TextName).Insert(i, s, nil)
		u, _ := d.Diff(sv)
		out = append(out, u)
	}
	sv, _ := d.StateVector()
	d.doc.GetText(TextName).Delete(1, 3)
	u, _ := d.Diff(sv)
	full, _ := d.Diff(nil)
	return append(out, u, full)
}

// FuzzDecodeFrame: any client message decodes or fails cleanly, and awareness
// updates round-trip.
func FuzzDecodeFrame(f *testing.F) {
	for _, u := range seedUpdates() {
		f.Add(syncFrame(syncUpdate, u))
	}
	f.Add(syncFrame(syncStep1, []byte{0}))
	f.Add([]byte{msgQueryAwareness})
	f.Add(awarenessFrame(encodeAwareness([]awarenessEntry{{Client: 1, Clock: 2, State: []byte(`{"a":1}`)}})))
	f.Add([]byte{0x80, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := decodeFrame(b)
		if err != nil {
			return
		}
		if len(fr.Payload) > len(b) {
			t.Fatalf("payload longer than the frame")
		}
		if fr.Type == msgAwareness {
			es, err := decodeAwareness(fr.Payload)
			if err != nil {
				return
			}
			again, err := decodeAwareness(encodeAwareness(es))
			if err != nil || len(again) != len(es) {
				t.Fatalf("awareness round trip: %v", err)
			}
		}
		decodeUpdates(b)
		decodeStateVector(b)
	})
}

// FuzzApplyUpdate: a hostile update never crashes or hangs the Go document (the
// varuint guard and recover), and the document can still encode afterwards.
func FuzzApplyUpdate(f *testing.F) {
	for _, u := range seedUpdates() {
		f.Add(u)
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0x0f, 0, 0})
	f.Add([]byte{5, 1, 2, 3})
	f.Fuzz(func(t *testing.T, u []byte) {
		d := newYDoc()
		d.Apply(seedUpdates()[0])
		d.Apply(u)
		d.Diff(nil)
		d.Text()
		d.Diff(u)
		if !bytes.Equal(u, u) {
			t.Fatal()
		}
	})
}
