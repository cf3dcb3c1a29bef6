package objecttest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateFrames = flag.Bool("update-frames", false, "objecttest: rewrite golden wire-frame files (CheckFrames) from what the test saw")

// Frames are an app's golden wire frames, exactly as they cross the socket: one
// of every frame type its server sends, and of every type a client sends. The
// front end's build type-checks the same file against web/src/protocol.ts
// (web/shared/frames.mjs), so the Go and TypeScript sides of a protocol cannot
// drift apart unnoticed.
type Frames struct {
	Server []json.RawMessage `json:"server"`
	Client []json.RawMessage `json:"client,omitempty"` // none: the clients send no frames
}

// CheckFrames compares f with the golden file at path (by convention
// testdata/frames.json), one frame a line with sorted keys, and fails the test
// on a difference. With -update-frames it writes the file instead: run that
// after a deliberate protocol change, then make protocol.ts fit until the
// front end's build passes.
func CheckFrames(t testing.TB, path string, f Frames) {
	t.Helper()
	got := formatFrames(t, f)
	if *updateFrames {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update-frames writes it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the frames differ from %s (after a deliberate change: go test -run %s -update-frames, then make protocol.ts fit):\ngot:\n%s\nwant:\n%s",
			path, t.Name(), got, want)
	}
}

// FrameShape returns frame with every number made 0 and every array cut to its
// first element: what a golden file can hold of frames whose values (times,
// bucket counts) change from run to run.
func FrameShape(t testing.TB, frame []byte) json.RawMessage {
	t.Helper()
	var v any
	if err := json.Unmarshal(frame, &v); err != nil {
		t.Fatalf("frame %s: %v", frame, err)
	}
	b, err := json.Marshal(shape(v))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func shape(v any) any {
	switch v := v.(type) {
	case float64:
		return 0
	case []any:
		if len(v) == 0 {
			return v
		}
		return []any{shape(v[0])}
	case map[string]any:
		for k, e := range v {
			v[k] = shape(e)
		}
	}
	return v
}

func formatFrames(t testing.TB, f Frames) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString("{\n")
	list := func(name string, frames []json.RawMessage) {
		buf.WriteString(`  "` + name + "\": [\n")
		for i, fr := range frames {
			var v any
			if err := json.Unmarshal(fr, &v); err != nil {
				t.Fatalf("frame %s: %v", fr, err)
			}
			b, err := json.Marshal(v) // sorted keys
			if err != nil {
				t.Fatal(err)
			}
			buf.WriteString("    ")
			buf.Write(b)
			if i < len(frames)-1 {
				buf.WriteString(",")
			}
			buf.WriteString("\n")
		}
		buf.WriteString("  ]")
	}
	list("server", f.Server)
	if len(f.Client) > 0 {
		buf.WriteString(",\n")
		list("client", f.Client)
	}
	buf.WriteString("\n}\n")
	return buf.Bytes()
}
