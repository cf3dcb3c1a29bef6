package main

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/warrenhq/warren/runtime/objecttest"
)

// framesPath holds the game's golden wire frames (objecttest.Frames): the front
// end's build type-checks them against web/src/protocol.ts, so a frame renamed or
// reshaped on one side only fails a test or the build (issue 15).
const framesPath = "testdata/frames.json"

// TestWireFramesGolden drives a real session and the template room through one of
// every frame type (a player's welcome, snapshot and leaderboard, a refused frame's
// error, a visitor's add-marker and remove-marker) and compares their shapes
// (objecttest.FrameShape: positions and times vary) with testdata/frames.json. The
// tick is a Delta with every field set, encoded as the server encodes it (its
// arrays are tuples, which a shape would cut). Run with -update-frames after a
// deliberate change, then make protocol.ts fit.
func TestWireFramesGolden(t *testing.T) {
	addr, _ := start(t, t.TempDir(), Options{})
	resp, err := http.Get("http://" + addr + "/api/join")
	if err != nil {
		t.Fatal(err)
	}
	var j JoinResponse
	err = json.NewDecoder(resp.Body).Decode(&j)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var got objecttest.Frames
	keep := func(m map[string]any) {
		t.Helper()
		if m["type"] == "welcome" {
			m["session"] = "s" // a fresh name per run
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got.Server = append(got.Server, objecttest.FrameShape(t, b))
	}
	a := dial(t, addr, objecttest.PartyPath("globe", j.Session)+"?_pk=golden-a&name=alice&token=golden-token-000000000001")
	keep(a.next("welcome", ofType("welcome")))
	keep(a.next("snapshot", ofType("snapshot")))
	keep(a.next("leaderboard", ofType("leaderboard")))
	input := `{"type":"input","h":90,"m":1,"p":"probe-1"}`
	a.send(input)
	got.Client = append(got.Client, json.RawMessage(input))
	a.send(`{"type":"nope"}`)
	keep(a.next("error", ofType("error")))

	sp := 2
	tick, err := Delta{Type: "tick", Tick: 7, TS: 1, At: 2, Pos: []PosUpdate{{N: 1, Lat: 1.5, Lng: -2.25, H: 90}},
		Joined: []WirePlayer{{N: 2, ID: "uid", Name: "bob", Color: 3, Lat: 1, Lng: 2, Heading: 180, Score: 4}}, Left: []int{3},
		Scores: [][2]int{{1, 5}}, Spawned: []WireItem{{N: 9, Lat: 3, Lng: 4, Value: 1}}, Taken: []int{8}, Acks: []string{"probe-1"}, Specs: &sp}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	got.Server = append(got.Server, tick)

	v := dial(t, addr, objecttest.PartyPath("globe", "default")+"?_pk=golden-v&lat=48.85&lng=2.35")
	keep(v.next("add-marker", ofType("add-marker")))
	w := dial(t, addr, objecttest.PartyPath("globe", "default")+"?_pk=golden-w&lat=1&lng=2")
	w.next("own add-marker", ofType("add-marker"))
	w.ws.Close()
	keep(v.next("remove-marker", ofType("remove-marker")))

	for _, c := range got.Client {
		if _, err := DecodeInput(c); err != nil {
			t.Errorf("client frame %s does not decode: %v", c, err)
		}
	}
	objecttest.CheckFrames(t, framesPath, got)
}
