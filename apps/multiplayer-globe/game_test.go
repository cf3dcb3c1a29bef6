package main

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestMoveAndDistance(t *testing.T) {
	lat, lng := Move(0, 0, 90, 10) // east along the equator
	if math.Abs(lat) > 1e-9 || math.Abs(lng-10) > 1e-9 {
		t.Fatalf("east 10°: got %v,%v", lat, lng)
	}
	lat, _ = Move(0, 0, 0, 10) // north
	if math.Abs(lat-10) > 1e-9 {
		t.Fatalf("north 10°: got %v", lat)
	}
	if d := Distance(0, 0, 0, 10); math.Abs(d-10) > 1e-9 {
		t.Fatalf("distance %v", d)
	}
	if _, lng := Move(0, 179, 90, 2); math.Abs(lng+179) > 1e-9 {
		t.Fatalf("wrap: %v", lng)
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), 1e300} {
		if lng := wrapLng(v); lng < -180 || lng > 180 {
			t.Fatalf("wrapLng(%v) = %v", v, lng)
		}
	}
}

func TestWorldTickAndDelta(t *testing.T) {
	w := NewWorld(1)
	a := w.AddPlayer("a", "uid-a", "alice", 0, 0, 0)
	b := w.AddPlayer("b", "uid-b", "bob", 10, 10, 0)
	if len(w.Items) != BaseItems+1 {
		t.Fatalf("items: %d", len(w.Items))
	}
	d := w.Delta()
	if len(d.Joined) != 2 || len(d.Spawned) != len(w.Items) {
		t.Fatalf("first delta: %+v", d)
	}
	// Idle players: an empty delta.
	w.Step(0.05)
	if d := w.Delta(); !d.Empty() {
		t.Fatalf("idle delta not empty: %+v", d)
	}
	w.Steer(a.N, 90, true)
	w.Step(0.05)
	d = w.Delta()
	if len(d.Pos) != 1 || d.Pos[0].N != a.N {
		t.Fatalf("moving delta: %+v", d.Pos)
	}
	if want := Speed * 0.05; math.Abs(a.Lng-want) > 1e-6 {
		t.Fatalf("moved to %v, want %v", a.Lng, want)
	}
	// A late tick moves at most maxStepSecs.
	w.Step(10)
	if a.Lng > Speed*0.05+Speed*maxStepSecs+1e-6 {
		t.Fatalf("late tick moved too far: %v", a.Lng)
	}
	w.RemovePlayer(b.N)
	w.Step(0.05)
	if d := w.Delta(); len(d.Left) != 1 || d.Left[0] != b.N {
		t.Fatalf("left: %+v", d.Left)
	}
}

func TestPickup(t *testing.T) {
	w := NewWorld(2)
	p := w.AddPlayer("a", "uid-a", "alice", 0, 0, 0)
	w.Delta()
	// Put an item just ahead of the player.
	for n := range w.Items {
		delete(w.Items, n)
	}
	w.nextIt++
	w.Items[w.nextIt] = &Item{N: w.nextIt, Lat: 0, Lng: 1, Value: GoldValue}
	taken := w.nextIt
	w.Steer(p.N, 90, true)
	w.Step(0.05)
	d := w.Delta()
	if p.Score != GoldValue || len(d.Scores) != 1 || d.Scores[0] != [2]int{p.N, GoldValue} {
		t.Fatalf("score %d, delta %+v", p.Score, d.Scores)
	}
	if len(d.Taken) != 1 || d.Taken[0] != taken || w.Items[taken] != nil {
		t.Fatalf("taken %+v", d.Taken)
	}
	if len(w.Items) != w.wantItems() || len(d.Spawned) == 0 {
		t.Fatalf("respawn: %d items, spawned %d", len(w.Items), len(d.Spawned))
	}
}

func TestSnapshot(t *testing.T) {
	w := NewWorld(3)
	w.AddPlayer("a", "uid-a", "alice", 1.234, 5.678, 7)
	s := w.Snapshot()
	if len(s.Players) != 1 || s.Players[0].Lat != 1.23 || s.Players[0].Lng != 5.68 || s.Players[0].Score != 7 {
		t.Fatalf("%+v", s.Players)
	}
	if len(s.Items) != len(w.Items) {
		t.Fatal("items")
	}
	if d := w.Delta(); len(d.Joined) != 1 {
		t.Fatal("snapshot consumed the delta")
	}
}

func BenchmarkTick64(b *testing.B) {
	w := NewWorld(4)
	for i := range 64 {
		p := w.AddPlayer("p", "p", "p", float64(i), float64(i*5), 0)
		w.Steer(p.N, float64(i*5), true)
	}
	for b.Loop() {
		w.Step(0.05)
		d := w.Delta()
		_ = d
	}
}

// BenchmarkTick is the session's per-tick work on a full session: step 64 moving
// players, take the delta and encode it once for the broadcast.
func BenchmarkTick(b *testing.B) {
	w := NewWorld(1)
	for i := range Capacity {
		p := w.AddPlayer(fmt.Sprint("p", i), fmt.Sprint("u", i), fmt.Sprint("player", i), float64(i%60)-30, float64(i*5%360)-180, 0)
		w.Steer(p.N, float64(i*37%360), true)
	}
	w.Delta()
	b.ReportAllocs()
	for b.Loop() {
		w.Step(1.0 / TickRate)
		d := w.Delta()
		if _, err := d.MarshalJSON(); err != nil { // as Session.tick does
			b.Fatal(err)
		}
	}
}

// TestDeltaJSON: the hand-written encoder gives what encoding/json gives.
func TestDeltaJSON(t *testing.T) {
	sp := 3
	w := NewWorld(2)
	p := w.AddPlayer("id-1", "uid-1", `a "quoted" <name>`, 10, -20, 5)
	w.AddPlayer("id-2", "uid-2", "b", -0.004, 179.999, 0)
	w.Steer(p.N, 123.4, true)
	w.Step(0.05)
	ds := []Delta{w.Delta(), {Type: "tick", Tick: 9, TS: 1, At: 1700000000123456}}
	d := ds[0]
	d.Acks, d.Specs, d.Left, d.Taken = []string{`p"1\`, "x"}, &sp, []int{7}, []int{3}
	d.Scores = [][2]int{{1, 5}}
	d.Pos = append(d.Pos, PosUpdate{9, -0, 0.01, 359}, PosUpdate{10, -89.9, -180, 0})
	ds = append(ds, d)
	type plain Delta // no MarshalJSON
	for _, d := range ds {
		got, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(struct {
			plain
			Pos [][4]any `json:"p,omitempty"`
		}{plain(d), posAny(d.Pos)})
		var g, w any
		json.Unmarshal(got, &g)
		json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) || !json.Valid(got) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	}
}

func posAny(ps []PosUpdate) [][4]any {
	var out [][4]any
	for _, p := range ps {
		out = append(out, [4]any{p.N, p.Lat, p.Lng, p.H})
	}
	return out
}

// TestTickPhasesSpread: however many sessions tick, their phases are spread
// over the interval (no two sessions share a phase, no wide gap).
func TestTickPhasesSpread(t *testing.T) {
	d := &deps{}
	var ph []time.Duration
	for n := 1; n <= 64; n++ {
		p := d.tickPhase()
		if p < 0 || p >= TickInterval {
			t.Fatalf("phase %v out of [0, %v)", p, TickInterval)
		}
		ph = append(ph, p)
		s := slices.Sorted(slices.Values(ph))
		gap := s[0] + TickInterval - s[len(s)-1]
		for i := 1; i < len(s); i++ {
			gap = max(gap, s[i]-s[i-1])
		}
		if n >= 2 && gap > 3*TickInterval/time.Duration(n) {
			t.Fatalf("%d sessions: widest gap %v", n, gap)
		}
	}
}

// TestItemsSpawnClearOfPlayers: no collectible spawns within ItemClear of a player,
// the first player of a session included (its items are spawned after it is placed,
// so SpawnPoint's distance from items cannot help it), nor after a pickup.
func TestItemsSpawnClearOfPlayers(t *testing.T) {
	clear := func(seed uint64, items []WireItem, players ...*Player) {
		t.Helper()
		for _, it := range items {
			for _, pl := range players {
				if d := Distance(it.Lat, it.Lng, pl.Lat, pl.Lng); d < ItemClear-0.01 { // wire positions are rounded
					t.Fatalf("seed %d: item %d spawned %.1f° from %s (ItemClear %v)", seed, it.N, d, pl.Name, ItemClear)
				}
			}
		}
	}
	for seed := range uint64(300) {
		w := NewWorld(seed)
		p := w.AddPlayer("a", "uid-a", "alice", 0, 0, 0)
		clear(seed, w.Delta().Spawned, p)
		q := w.AddPlayer("b", "uid-b", "bob", 0, 30, 0)
		w.nextIt++
		w.Items[w.nextIt] = &Item{N: w.nextIt, Lat: 0, Lng: 1, Value: 1} // just ahead of p
		w.Steer(p.N, 90, true)
		w.Step(0.05) // p takes it; its replacement and bob's share spawn
		clear(seed, w.Delta().Spawned, p, q)
	}
}

// TestTakenListsItemsSpawnedThisTick: an item spawned and taken between two deltas
// is still reported taken: a socket that joined in between got it in its snapshot
// and would otherwise show it for ever.
func TestTakenListsItemsSpawnedThisTick(t *testing.T) {
	w := NewWorld(3)
	p := w.AddPlayer("a", "uid-a", "alice", 0, 0, 0) // spawns items: no delta yet
	snap := w.Snapshot()
	it := w.Items[snap.Items[0].N]
	it.Lat, it.Lng, it.v = 0, 1, vec3{} // just ahead of the player
	w.Steer(p.N, 90, true)
	w.Step(0.05)
	d := w.Delta()
	if len(d.Taken) != 1 || d.Taken[0] != it.N {
		t.Fatalf("taken %v, want [%d] (item of the snapshot taken before the first delta)", d.Taken, it.N)
	}
}
