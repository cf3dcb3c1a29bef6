package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateFrames = flag.Bool("update-frames", false, "rewrite testdata/frames.json from what the server sends")

// goldenFrames is testdata/frames.json: wire frames exactly as they cross the
// socket. The front end's build type-checks them against web/src/protocol.ts
// (web/shared/frames.mjs), so a frame renamed or reshaped on one side only fails
// a test or the build (issue 15: protocol.go and protocol.ts must not drift).
type goldenFrames struct {
	Server []json.RawMessage `json:"server"` // one of every frame type the server sends
	Client []json.RawMessage `json:"client"` // one of every frame type a client sends
}

const framesPath = "testdata/frames.json"

// TestWireFramesGolden drives a real room through one of every frame type (two
// users: join, add, update, typing, history, search, delete, resume, a refused
// frame, leave) and compares what the server sent with testdata/frames.json;
// every client frame of the file must decode with DecodeFrame. Run with
// -update-frames after a deliberate protocol change, then fix protocol.ts until
// `npm run build` passes.
func TestWireFramesGolden(t *testing.T) {
	ts := newTestServer(t, Limits{})
	var got goldenFrames
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
	out := formatFrames(t, got)
	if *updateFrames {
		if err := os.MkdirAll(filepath.Dir(framesPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(framesPath, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(framesPath)
	if err != nil {
		t.Fatalf("%v (run go test -run TestWireFramesGolden -update-frames to write it)", err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("the server's frames differ from %s (after a deliberate change: -update-frames, then make protocol.ts fit):\ngot:\n%s\nwant:\n%s", framesPath, out, want)
	}
}

// formatFrames writes the frames one a line, each with its keys sorted, so a
// protocol change shows as a small diff.
func formatFrames(t *testing.T, g goldenFrames) []byte {
	t.Helper()
	var buf bytes.Buffer
	list := func(name string, frames []json.RawMessage, last bool) {
		buf.WriteString("  \"" + name + "\": [\n")
		for i, f := range frames {
			var v any
			if err := json.Unmarshal(f, &v); err != nil {
				t.Fatalf("frame %s: %v", f, err)
			}
			b, err := json.Marshal(v) // sorted keys
			if err != nil {
				t.Fatal(err)
			}
			buf.WriteString("    " + string(b))
			if i < len(frames)-1 {
				buf.WriteString(",")
			}
			buf.WriteString("\n")
		}
		buf.WriteString("  ]")
		if !last {
			buf.WriteString(",")
		}
		buf.WriteString("\n")
	}
	buf.WriteString("{\n")
	list("server", g.Server, false)
	list("client", g.Client, true)
	buf.WriteString("}\n")
	return buf.Bytes()
}
