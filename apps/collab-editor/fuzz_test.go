package main

import (
	"testing"

	"github.com/warrenhq/warren/apps/collab-editor/internal/yupdate"
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
		yupdate.DecodeStateVector(b)
	})
}

// FuzzOwnAwareness: any awareness update from any socket state yields at most
// the socket's own entry, within maxAwarenessState, and a claim only of a free ID.
func FuzzOwnAwareness(f *testing.F) {
	f.Add(encodeAwareness([]awarenessEntry{{Client: 1, Clock: 2, State: []byte(`{"a":1}`)}}), false, uint64(0))
	f.Add(encodeAwareness([]awarenessEntry{{Client: 7, Clock: 1, State: []byte(`null`)}, {Client: 8, Clock: 1, State: []byte(`{}`)}}), true, uint64(8))
	f.Fuzz(func(t *testing.T, update []byte, claimed bool, client uint64) {
		taken := func(c uint64) bool { return c%3 == 0 }
		in := socketInfo{Claimed: claimed, Client: client}
		out, own, err := ownAwareness(update, in, taken)
		if err != nil {
			if own != nil || out.Claimed != in.Claimed || out.Client != in.Client {
				t.Fatalf("error %v changed the socket: %+v", err, out)
			}
			return
		}
		if in.Claimed && (out.Client != in.Client || !out.Claimed) {
			t.Fatalf("claim moved from %d to %d", in.Client, out.Client)
		}
		if !in.Claimed && out.Claimed && taken(out.Client) {
			t.Fatalf("claimed %d, owned by another socket", out.Client)
		}
		if own == nil {
			return
		}
		if !out.Claimed || own.Client != out.Client || len(own.State) > maxAwarenessState {
			t.Fatalf("relayed %+v for a socket owning %d", own, out.Client)
		}
		if es, err := decodeAwareness(encodeAwareness([]awarenessEntry{*own})); err != nil || len(es) != 1 {
			t.Fatalf("relay does not decode: %v", err)
		}
	})
}
