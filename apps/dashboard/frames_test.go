package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/objecttest"
)

// framesPath holds the shapes of the stream's wire frames (objecttest.Frames,
// objecttest.FrameShape: times and counts vary from run to run): the front end's
// build type-checks them against web/src/protocol.ts, so a frame renamed or
// reshaped on one side only fails a test or the build (issue 15).
const framesPath = "testdata/frames.json"

// TestWireFramesGolden drives a real stream through one of every frame type (a
// viewer's snapshot and delta, an ingest socket's ack and error, the viewer's
// ingest-error) and compares their shapes with testdata/frames.json; run with
// -update-frames after a deliberate change, then make protocol.ts fit.
func TestWireFramesGolden(t *testing.T) {
	base := startApp(t, Config{SelfStream: "-", PushRate: 4})
	path := objecttest.PartyPath("stream", "golden")
	var got objecttest.Frames
	seen := map[string]bool{}
	// until reads c's frames up to one of type typ, keeping the first of every type.
	until := func(c *websocket.Conn, typ string) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("waiting for %q: %v", typ, err)
			}
			var f struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(data, &f); err != nil {
				t.Fatalf("frame %s: %v", data, err)
			}
			if !seen[f.Type] {
				seen[f.Type] = true
				got.Server = append(got.Server, objecttest.FrameShape(t, data))
			}
			if f.Type == typ {
				return
			}
		}
	}
	post(t, base+path+"/events", batch("cpu", 3, func(int) float64 { return 1 }))
	viewer := dial(t, base, path+"?window=60")
	until(viewer, "snapshot")
	post(t, base+path+"/events", batch("cpu", 2, func(int) float64 { return 2 }))
	until(viewer, "delta")
	in := dial(t, base, path+"?mode=ingest")
	in.WriteMessage(websocket.TextMessage, []byte(`{"name":"cpu","value":3}`))
	until(in, "ack")
	in.WriteMessage(websocket.TextMessage, []byte(`{"name":"cpu"}`))
	until(in, "error")
	until(viewer, "ingest-error")
	objecttest.CheckFrames(t, framesPath, got)
}
