package main

import (
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/warrenhq/warren/runtime/objecttest"
)

// yframesPath holds golden y-websocket frames, binary, as hex with the kind each
// is: the web build decodes every one with y-protocols (web/check-yframes.mjs),
// the library the editor's client runs, so protocol.go and the client cannot drift
// (issue 15). Not frames.json: those are JSON frames type-checked against a
// protocol.ts, and this protocol is y-protocols' own.
const yframesPath = "testdata/yframes.json"

// yframe is one frame of the golden file.
func yframe(t *testing.T, b []byte) json.RawMessage {
	t.Helper()
	f, err := decodeFrame(b)
	if err != nil {
		t.Fatalf("frame %x: %v", b, err)
	}
	kind := map[uint64]string{msgSync: "sync", msgAwareness: "awareness", msgQueryAwareness: "query-awareness"}[f.Type]
	if f.Type == msgSync {
		kind = []string{"sync-step1", "sync-step2", "sync-update"}[f.SyncType]
	}
	r, _ := json.Marshal(map[string]string{"kind": kind, "hex": hex.EncodeToString(b)})
	return r
}

// TestWireFramesGolden drives a real document through one frame of every kind the
// server sends (sync step 1 and 2 on connect, a relayed update, a relayed
// awareness state) and a client sends (step 1 and 2, an update, awareness, an
// awareness query), with documents of fixed Yjs client IDs so the bytes are the
// same on every run, and compares them with testdata/yframes.json. Run with
// -update-frames after a deliberate change, then `npm run build` must pass.
func TestWireFramesGolden(t *testing.T) {
	ts := newTestServer(t, Policy{})
	var got objecttest.Frames
	client := func(b []byte) []byte { got.Client = append(got.Client, yframe(t, b)); return b }

	a := ts.dialRaw("/parties/document/golden?_pk=a") // sends step 1 of an empty document
	a.waitFor("a's sync", func() bool { return a.synced })
	a.doc.doc.ClientID = 7
	sv, _ := a.doc.StateVector()
	a.doc.doc.GetText(TextName).Insert(0, "hello", nil)
	u, _ := a.doc.Diff(sv)
	a.write(client(syncFrame(syncUpdate, u)))

	b := ts.dialRaw("/parties/document/golden?_pk=b")
	b.waitFor("b's sync step 2", func() bool { return b.synced })
	bdoc := newYDoc()
	bdoc.doc.ClientID = 8
	bsv, _ := bdoc.StateVector()
	got.Client = append([]json.RawMessage{yframe(t, syncFrame(syncStep1, bsv))}, got.Client...) // what dial sent
	bdoc.doc.GetText(TextName).Insert(0, "!", nil)
	diff, _ := bdoc.Diff([]byte{0})
	b.write(client(syncFrame(syncStep2, diff)))
	a.waitFor("b's step 2 relayed as an update", func() bool { return countKind(t, a.frames, "sync-update") > 0 })

	a.write(client(awarenessFrame(encodeAwareness([]awarenessEntry{{Client: 7, Clock: 1, State: json.RawMessage(`{"user":{"name":"alice","color":"#f00"}}`)}}))))
	b.waitFor("a's awareness", func() bool { return countKind(t, b.frames, "awareness") > 0 })
	b.write(client([]byte{msgQueryAwareness}))

	b.mu.Lock()
	for _, kind := range []string{"sync-step1", "sync-step2"} {
		got.Server = append(got.Server, firstKind(t, b.frames, kind))
	}
	b.mu.Unlock()
	a.mu.Lock()
	got.Server = append(got.Server, firstKind(t, a.frames, "sync-update"))
	a.mu.Unlock()
	b.mu.Lock()
	got.Server = append(got.Server, firstKind(t, b.frames, "awareness"))
	b.mu.Unlock()
	objecttest.CheckFrames(t, yframesPath, got)
}

// kindOf is the kind yframe gives b.
func kindOf(t *testing.T, b []byte) string {
	var k struct{ Kind string }
	json.Unmarshal(yframe(t, b), &k)
	return k.Kind
}

func countKind(t *testing.T, frames [][]byte, kind string) int {
	n := 0
	for _, b := range frames {
		if kindOf(t, b) == kind {
			n++
		}
	}
	return n
}

func firstKind(t *testing.T, frames [][]byte, kind string) json.RawMessage {
	t.Helper()
	for _, b := range frames {
		if kindOf(t, b) == kind {
			return yframe(t, b)
		}
	}
	t.Fatalf("no %s frame among %d", kind, len(frames))
	return nil
}
