package main

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
)

// Game rules. A player moves along great circles at Speed degrees of arc per
// second in the heading it steers to; touching a collectible (within PickupDeg)
// adds its value to the player's score, and a new one spawns elsewhere.
const (
	TickRate     = 20                      // ticks per second
	TickInterval = 1e9 / TickRate          // nanoseconds between ticks
	Speed        = 14.0                    // degrees of arc per second while moving
	PickupDeg    = 4.0                     // pickup radius, degrees of arc
	BaseItems    = 12                      // collectibles on the globe with one player
	MaxItems     = 48                      // collectibles at most
	GoldChance   = 0.1                     // share of collectibles worth GoldValue
	GoldValue    = 5                       // points of a gold collectible (others: 1)
	Capacity     = 64                      // players per session; the lobby fills sessions up to it
	maxStepSecs  = 3.0 / float64(TickRate) // a late tick moves players at most this long

	// Spawning: the server picks where a player starts (a client never does: it
	// would pick the best item). A new player starts within SpawnNear of another
	// player (so they see each other), between the latitudes ±SpawnMaxLat (compass
	// steering is awkward near the poles), at the best of spawnTries random points:
	// the one farthest from every item.
	SpawnNear   = 30.0 // degrees of arc
	SpawnMaxLat = 50.0 // degrees
	spawnTries  = 16

	// ItemClear: a collectible spawns at least this far from every player (else at
	// the farthest of spawnTries random points), so nobody is handed one where they
	// stand, the first player of a session included.
	ItemClear = 3 * PickupDeg
)

// Player is one player's state in a session.
type Player struct {
	N       int     // small number, unique in the session, used on the wire
	ID      string  // connection id (?_pk=): secret, never sent to others
	UID     string  // public id: a hash of the player's token (or connection id); keys the leaderboard
	Name    string  // sanitized display name
	Color   int     // palette index
	Lat     float64 // degrees
	Lng     float64 // degrees
	Heading float64 // degrees clockwise from north
	Moving  bool
	Score   int
	moved   bool // changed position or heading this tick
	scored  bool // score changed this tick
}

// Item is a collectible.
type Item struct {
	N     int
	Lat   float64
	Lng   float64
	Value int
	v     vec3 // unit vector of (Lat, Lng), for the pickup test
}

// vec3 is a point on the unit sphere.
type vec3 struct{ x, y, z float64 }

func unit(lat, lng float64) vec3 {
	const r = math.Pi / 180
	sφ, cφ := math.Sincos(lat * r)
	sλ, cλ := math.Sincos(lng * r)
	return vec3{cφ * cλ, cφ * sλ, sφ}
}

// cosPickup is the cosine of PickupDeg: a point is within the pickup radius
// when the dot product of the unit vectors is at least this.
var cosPickup = math.Cos(PickupDeg * math.Pi / 180)

// World is the authoritative state of one game session. It is plain data with a
// seeded random source, so tests can drive it tick by tick.
type World struct {
	Tick    uint64
	Players map[int]*Player
	Items   map[int]*Item
	rng     *rand.Rand
	nextN   int
	nextIt  int

	// Changes since the last Delta.
	joined  []int
	left    []int
	spawned []int
	taken   []int
	sorted  []*Player // Delta's scratch buffer
}

// NewWorld returns an empty world whose randomness comes from seed.
func NewWorld(seed uint64) *World {
	return &World{Players: map[int]*Player{}, Items: map[int]*Item{}, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// RandomPoint returns a point uniformly distributed on the sphere.
func RandomPoint(r *rand.Rand) (lat, lng float64) {
	z := 2*r.Float64() - 1
	return math.Asin(z) * 180 / math.Pi, r.Float64()*360 - 180
}

// SpawnPoint picks a new player's start (see SpawnNear): near a random player
// when there is one, in the band of latitudes ±SpawnMaxLat, as far from the
// items as spawnTries random candidates allow.
func (w *World) SpawnPoint() (lat, lng float64) {
	var near *Player
	if len(w.Players) > 0 {
		k := w.rng.IntN(len(w.Players))
		for _, p := range sortedPlayers(w.Players) {
			if k--; k < 0 {
				near = p
				break
			}
		}
	}
	best := -1.0
	for range spawnTries {
		var la, lo float64
		if near != nil {
			la, lo = Move(near.Lat, near.Lng, w.rng.Float64()*360, w.rng.Float64()*SpawnNear)
		} else {
			la, lo = RandomPoint(w.rng)
		}
		la = max(-SpawnMaxLat, min(SpawnMaxLat, la))
		gap := 180.0
		for _, it := range w.Items {
			gap = min(gap, Distance(la, lo, it.Lat, it.Lng))
		}
		if gap > best {
			best, lat, lng = gap, la, lo
		}
	}
	return lat, lng
}

// AddPlayer adds a player at (lat, lng) and returns it.
func (w *World) AddPlayer(id, uid, name string, lat, lng float64, score int) *Player {
	w.nextN++
	p := &Player{N: w.nextN, ID: id, UID: uid, Name: name, Color: (w.nextN - 1) % 12, Lat: clampLat(lat), Lng: wrapLng(lng), Score: score}
	w.Players[p.N] = p
	w.joined = append(w.joined, p.N)
	w.fillItems()
	return p
}

// RemovePlayer removes player n.
func (w *World) RemovePlayer(n int) {
	if _, ok := w.Players[n]; !ok {
		return
	}
	delete(w.Players, n)
	w.left = append(w.left, n)
}

// Steer sets a player's heading and whether it moves.
func (w *World) Steer(n int, heading float64, moving bool) {
	p := w.Players[n]
	if p == nil {
		return
	}
	if p.Heading != heading || p.Moving != moving {
		p.Heading, p.Moving, p.moved = heading, moving, true
	}
}

// wantItems is how many collectibles the world keeps for its players.
func (w *World) wantItems() int {
	if len(w.Players) == 0 {
		return 0
	}
	return min(BaseItems+len(w.Players)/2, MaxItems)
}

func (w *World) fillItems() {
	for len(w.Items) < w.wantItems() {
		w.nextIt++
		lat, lng := w.itemPoint()
		v := 1
		if w.rng.Float64() < GoldChance {
			v = GoldValue
		}
		w.Items[w.nextIt] = &Item{N: w.nextIt, Lat: lat, Lng: lng, Value: v, v: unit(lat, lng)}
		w.spawned = append(w.spawned, w.nextIt)
	}
}

// itemPoint is where a new collectible goes: the first of spawnTries random points
// at least ItemClear from every player, else the farthest of them.
func (w *World) itemPoint() (lat, lng float64) {
	best := -1.0
	for range spawnTries {
		la, lo := RandomPoint(w.rng)
		gap := 180.0
		for _, p := range w.Players {
			gap = min(gap, Distance(la, lo, p.Lat, p.Lng))
		}
		if gap >= ItemClear {
			return la, lo
		}
		if gap > best {
			best, lat, lng = gap, la, lo
		}
	}
	return lat, lng
}

// Step advances the world by dt seconds (capped), moving players, collecting
// items and spawning new ones.
func (w *World) Step(dt float64) {
	w.Tick++
	dt = max(0, min(dt, maxStepSecs))
	for _, p := range w.Players {
		if !p.Moving || dt == 0 {
			continue
		}
		p.Lat, p.Lng = Move(p.Lat, p.Lng, p.Heading, Speed*dt)
		p.moved = true
		// A dot product per item rather than a great-circle distance (trigonometry).
		pv := unit(p.Lat, p.Lng)
		for _, it := range w.Items {
			if it.v == (vec3{}) { // an item made without fillItems
				it.v = unit(it.Lat, it.Lng)
			}
			if pv.x*it.v.x+pv.y*it.v.y+pv.z*it.v.z >= cosPickup {
				p.Score += it.Value
				p.scored = true
				delete(w.Items, it.N)
				w.taken = append(w.taken, it.N)
			}
		}
	}
	w.fillItems()
}

// Move returns the point d degrees of arc from (lat, lng) along heading h.
func Move(lat, lng, h, d float64) (float64, float64) {
	const r = math.Pi / 180
	φ1, λ1, θ, δ := lat*r, lng*r, h*r, d*r
	φ2 := math.Asin(math.Sin(φ1)*math.Cos(δ) + math.Cos(φ1)*math.Sin(δ)*math.Cos(θ))
	λ2 := λ1 + math.Atan2(math.Sin(θ)*math.Sin(δ)*math.Cos(φ1), math.Cos(δ)-math.Sin(φ1)*math.Sin(φ2))
	return clampLat(φ2 / r), wrapLng(λ2 / r)
}

// Distance is the great-circle distance between two points, in degrees of arc.
func Distance(lat1, lng1, lat2, lng2 float64) float64 {
	const r = math.Pi / 180
	φ1, φ2 := lat1*r, lat2*r
	dφ, dλ := (lat2-lat1)*r, (lng2-lng1)*r
	a := math.Sin(dφ/2)*math.Sin(dφ/2) + math.Cos(φ1)*math.Cos(φ2)*math.Sin(dλ/2)*math.Sin(dλ/2)
	return 2 * math.Atan2(math.Sqrt(a), math.Sqrt(max(0, 1-a))) / r
}

func clampLat(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return max(-89.9, min(89.9, v))
}

func wrapLng(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	v = math.Mod(v+180, 360)
	if v < 0 {
		v += 360
	}
	return v - 180
}

// round2 rounds to two decimals (about 1 km on the globe), for the wire.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// Delta is what changed since the previous Delta: the per-tick message.
type Delta struct {
	Type    string       `json:"type"` // "tick"
	Tick    uint64       `json:"tick"`
	TS      int64        `json:"ts"`           // server time, Unix milliseconds
	At      int64        `json:"at"`           // send time, Unix microseconds: taken once per tick right before the broadcast (for broadcast latency)
	Pos     []PosUpdate  `json:"p,omitempty"`  // [n, lat, lng, heading] of players that moved
	Joined  []WirePlayer `json:"j,omitempty"`  // players who joined
	Left    []int        `json:"l,omitempty"`  // players who left
	Scores  [][2]int     `json:"s,omitempty"`  // [n, score] of players who scored
	Spawned []WireItem   `json:"i,omitempty"`  // new collectibles
	Taken   []int        `json:"t,omitempty"`  // collectibles taken (also ones spawned since the last tick)
	Acks    []string     `json:"a,omitempty"`  // input probes received since the last tick
	Specs   *int         `json:"sp,omitempty"` // spectator count, when it changed
}

// WirePlayer is a player as snapshots and joins carry it.
type WirePlayer struct {
	N       int     `json:"n"`
	ID      string  `json:"id"` // the player's public id (Player.UID), never the connection id
	Name    string  `json:"name"`
	Color   int     `json:"color"`
	Lat     float64 `json:"lat"`
	Lng     float64 `json:"lng"`
	Heading float64 `json:"h"`
	Score   int     `json:"score"`
}

// WireItem is a collectible on the wire.
type WireItem struct {
	N     int     `json:"n"`
	Lat   float64 `json:"lat"`
	Lng   float64 `json:"lng"`
	Value int     `json:"v"`
}

func (p *Player) wire() WirePlayer {
	return WirePlayer{N: p.N, ID: p.UID, Name: p.Name, Color: p.Color, Lat: round2(p.Lat), Lng: round2(p.Lng), Heading: math.Round(p.Heading), Score: p.Score}
}

func (it *Item) wire() WireItem {
	return WireItem{N: it.N, Lat: round2(it.Lat), Lng: round2(it.Lng), Value: it.Value}
}

// Delta returns the changes since the previous call and forgets them.
func (w *World) Delta() Delta {
	d := Delta{Type: "tick", Tick: w.Tick}
	for _, n := range w.joined {
		if p := w.Players[n]; p != nil {
			d.Joined = append(d.Joined, p.wire())
			p.moved, p.scored = false, false
		}
	}
	d.Left = w.left
	w.sorted = appendSorted(w.sorted[:0], w.Players)
	for _, p := range w.sorted {
		if p.moved {
			d.Pos = append(d.Pos, PosUpdate{p.N, round2(p.Lat), round2(p.Lng), math.Round(p.Heading)})
		}
		if p.scored {
			d.Scores = append(d.Scores, [2]int{p.N, p.Score})
		}
		p.moved, p.scored = false, false
	}
	for _, n := range w.spawned {
		if it := w.Items[n]; it != nil {
			d.Spawned = append(d.Spawned, it.wire())
		}
	}
	// Every item taken, even one spawned since the last delta: a socket that joined
	// in between has it from its snapshot. Others ignore a number they never had.
	d.Taken = w.taken
	w.joined, w.left, w.spawned, w.taken = nil, nil, nil, nil
	return d
}

// PosUpdate is a moved player on the wire: [n, lat, lng, heading].
type PosUpdate struct {
	N           int
	Lat, Lng, H float64
}

// MarshalJSON encodes the delta by hand: it is encoded once per tick per
// session, and reflection over [][4]any was most of its cost. The output is
// what encoding/json gives for the same fields (TestDeltaJSON).
func (d Delta) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 64+len(d.Pos)*32)
	b = append(b, `{"type":`...)
	b = strconv.AppendQuote(b, d.Type)
	b = append(b, `,"tick":`...)
	b = strconv.AppendUint(b, d.Tick, 10)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, d.TS, 10)
	b = append(b, `,"at":`...)
	b = strconv.AppendInt(b, d.At, 10)
	if len(d.Pos) > 0 {
		b = append(b, `,"p":[`...)
		for i, p := range d.Pos {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(p.N), 10)
			b = append(b, ',')
			b = appendFloat(b, p.Lat)
			b = append(b, ',')
			b = appendFloat(b, p.Lng)
			b = append(b, ',')
			b = appendFloat(b, p.H)
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	var err error
	field := func(name string, v any) {
		if err != nil {
			return
		}
		var x []byte
		if x, err = json.Marshal(v); err == nil {
			b = append(append(append(b, `,"`...), name...), `":`...)
			b = append(b, x...)
		}
	}
	if len(d.Joined) > 0 {
		field("j", d.Joined)
	}
	if len(d.Left) > 0 {
		field("l", d.Left)
	}
	if len(d.Scores) > 0 {
		field("s", d.Scores)
	}
	if len(d.Spawned) > 0 {
		field("i", d.Spawned)
	}
	if len(d.Taken) > 0 {
		field("t", d.Taken)
	}
	if len(d.Acks) > 0 {
		field("a", d.Acks)
	}
	if d.Specs != nil {
		field("sp", *d.Specs)
	}
	return append(b, '}'), err
}

// MarshalJSON encodes a position update as the array [n, lat, lng, heading].
func (p PosUpdate) MarshalJSON() ([]byte, error) {
	b := append(strconv.AppendInt([]byte{'['}, int64(p.N), 10), ',')
	b = append(appendFloat(b, p.Lat), ',')
	b = append(appendFloat(b, p.Lng), ',')
	return append(appendFloat(b, p.H), ']'), nil
}

// appendFloat formats like encoding/json for the magnitudes a delta carries.
func appendFloat(b []byte, v float64) []byte {
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) || math.IsNaN(v) || math.IsInf(v, 0) {
		x, _ := json.Marshal(v)
		return append(b, x...)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

// Empty reports whether the delta carries nothing but its tick number.
func (d *Delta) Empty() bool {
	return len(d.Pos) == 0 && len(d.Joined) == 0 && len(d.Left) == 0 && len(d.Scores) == 0 &&
		len(d.Spawned) == 0 && len(d.Taken) == 0 && len(d.Acks) == 0 && d.Specs == nil
}

// Snapshot is the whole state, sent to a socket when it connects.
type Snapshot struct {
	Type       string       `json:"type"` // "snapshot"
	Tick       uint64       `json:"tick"`
	TS         int64        `json:"ts"`
	Players    []WirePlayer `json:"players"`
	Items      []WireItem   `json:"items"`
	Spectators int          `json:"spectators"`
}

// Snapshot returns the world's whole state. It does not consume the pending delta.
func (w *World) Snapshot() Snapshot {
	s := Snapshot{Type: "snapshot", Tick: w.Tick, Players: []WirePlayer{}, Items: []WireItem{}}
	for _, p := range sortedPlayers(w.Players) {
		s.Players = append(s.Players, p.wire())
	}
	for n := 1; n <= w.nextIt; n++ {
		if it := w.Items[n]; it != nil {
			s.Items = append(s.Items, it.wire())
		}
	}
	return s
}

func sortedPlayers(m map[int]*Player) []*Player {
	return appendSorted(make([]*Player, 0, len(m)), m)
}

func appendSorted(out []*Player, m map[int]*Player) []*Player {
	for _, p := range m {
		out = append(out, p)
	}
	for i := 1; i < len(out); i++ { // insertion sort: small maps
		for j := i; j > 0 && out[j].N < out[j-1].N; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
