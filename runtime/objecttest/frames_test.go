package objecttest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFrameShape(t *testing.T) {
	got := string(FrameShape(t, []byte(`{"type":"delta","t":[5,6,7],"s":{"cpu":{"n":[1,2]}},"e":[],"ok":true,"m":"x"}`)))
	if want := `{"e":[],"m":"x","ok":true,"s":{"cpu":{"n":[0]}},"t":[0],"type":"delta"}`; got != want {
		t.Fatalf("FrameShape = %s, want %s", got, want)
	}
}

// CheckFrames passes on the file it would write and fails on any other.
func TestCheckFrames(t *testing.T) {
	f := Frames{Server: []json.RawMessage{json.RawMessage(`{"type":"b","a":1}`)}, Client: []json.RawMessage{json.RawMessage(`{"type":"c"}`)}}
	path := filepath.Join(t.TempDir(), "frames.json")
	want := "{\n  \"server\": [\n    {\"a\":1,\"type\":\"b\"}\n  ],\n  \"client\": [\n    {\"type\":\"c\"}\n  ]\n}\n"
	if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	CheckFrames(t, path, f)
	rec := &errorsTB{TB: t}
	CheckFrames(rec, path, Frames{Server: f.Server})
	if !strings.Contains(rec.msg, "differ") {
		t.Fatalf("CheckFrames without the client frames reported %q, want a difference", rec.msg)
	}
}

// errorsTB records Errorf instead of failing the test.
type errorsTB struct {
	testing.TB
	msg string
}

func (e *errorsTB) Errorf(format string, args ...any) { e.msg = format }
func (e *errorsTB) Helper()                           {}
