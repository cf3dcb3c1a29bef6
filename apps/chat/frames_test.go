package main

import (
	"encoding/json"
	"testing"

	"github.com/warrenhq/warren/runtime/objecttest"
)

// framesPath holds golden wire frames (objecttest.Frames): the front end's build
// type-checks them against web/src/protocol.ts, so a frame renamed or reshaped on
// one side only fails a test or the build (issue 15: protocol.go and protocol.ts
// must not drift).
const framesPath = "testdata/frames.json"

// TestWireFramesGolden drives a real room through one of every frame type (two
// users: join, add, update, typing, history, search, delete, resume, a refused
// frame, leave) and compares what the server sent with testdata/frames.json;
// every client frame of the file must decode with DecodeFrame. Run with
// -update-frames after a deliberate protocol change, then fix protocol.ts until
// `npm run build` passes.
func TestWireFramesGolden(t *testing.T) {
	ts := newTestServer(t, Limits{})
	var got objecttest.Frames
	seen := map[string]bool{}
	// until reads a's frames up to one of type typ, keeping the first of every type.
	until := func(c *client, typ string) {
		t.Helper()
		for {
			f := c.nextOf(TypeAll, TypeAdd, TypeUpdate, TypeHistory, TypeSearch, TypeTyping, TypeWelcome,
				TypeResume, TypePresence, TypeJoin, TypeLeave, TypeError)
			if !seen[f.Type] {
				seen[f.Type] = true
				got.Server = append(got.Server, json.RawMessage(f.Raw))
			}
			if f.Type == typ {
				return
			}
		}
	}
	a := ts.dial("golden", "a", aliceQ)
	send := func(c *client, v map[string]any) {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got.Client = append(got.Client, b)
		c.send(v)
	}
	until(a, TypeWelcome)
	until(a, TypePresence)
	b := ts.dial("golden", "b", bobQ)
	until(a, TypeJoin)
	send(a, add("m1", "hello", "alice"))
	until(a, TypeAdd)
	send(a, map[string]any{"type": TypeUpdate, "id": "m1", "content": "hello again", "user": "alice", "role": "user"})
	until(a, TypeUpdate)
	send(b, map[string]any{"type": TypeTyping, "typing": true})
	until(a, TypeTyping)
	send(a, map[string]any{"type": TypeHistory, "before": 2, "limit": 10})
	until(a, TypeHistory)
	send(a, map[string]any{"type": TypeSearch, "q": "hello"})
	until(a, TypeSearch)
	send(a, map[string]any{"type": TypeResume, "since": 1})
	until(a, TypeResume)
	send(a, map[string]any{"type": TypeDelete, "id": "m1"})
	until(a, TypeUpdate) // the deletion: an update frame, already kept
	a.send(map[string]any{"type": "chat:nope"})
	until(a, TypeError)
	b.conn.Close()
	until(a, TypeLeave)

	for _, c := range got.Client {
		if _, err := DecodeFrame(c); err != nil {
			t.Errorf("client frame %s does not decode: %v", c, err)
		}
	}
	objecttest.CheckFrames(t, framesPath, got)
}
