package main

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// TemplateRoom is the session name that speaks the multiplayer-globe-template
// protocol (add-marker / remove-marker) instead of the game.
const TemplateRoom = "default"

// Timing of the side work a ticking session does.
const (
	flushEvery   = 2 * time.Second // submit score changes to the leaderboard at most this often
	refreshEvery = 5 * time.Second // re-read the leaderboard at least this often while ticking
	saveEvery    = 2 * time.Second // save players' scores and positions (resume records) this often while ticking
	resumeWindow = 2 * time.Minute // a player who reconnects within this gets score and position back
)

// deps are what a session needs from the rest of the app.
type deps struct {
	lobby    object.Stub[Lobby]
	board    object.Stub[Leaderboard]
	stats    *TickStats
	adm      *admission
	capacity int
	phases   atomic.Uint64 // tick chains started, for tickPhase
}

// tickPhase spreads the sessions' ticks over the tick interval: the k-th tick
// chain started in the process runs at offset frac(k·φ)·TickInterval, a
// low-discrepancy sequence, so any number of sessions tick evenly spaced
// rather than at random (colliding) phases, and their broadcasts do not queue
// behind each other on the CPU.
func (d *deps) tickPhase() time.Duration {
	const phi = 0.6180339887498949
	k := d.phases.Add(1)
	f := float64(k) * phi
	return time.Duration((f - math.Floor(f)) * float64(TickInterval))
}

// Session is one game session (namespace "globe"): a World stepped by a fixed-rate
// tick while players are connected. The tick is a chain of State.Go
// continuations, one turn per tick; with no player it stops, so the object is
// evicted after the idle timeout like any other (spectators' sockets hibernate).
// Game state is in memory; each socket's attachment holds its player's name and
// score, so a rebuilt instance (after an eviction or a failed turn) recovers them and
// sends its sockets the new world (resync).
// One connection id is one player: a second socket with the same ?_pk= takes the
// player over and the first is closed (4409), so nobody else can steer it and no
// ghost is left; the connection id is never sent to other sockets (players are
// shown by their public id). The server decides where players start.
// The session named "default" is the template's global room instead.
type Session struct {
	st       *object.State
	d        *deps
	name     string
	template bool
	rng      *rand.Rand

	world      *World
	players    map[string]int               // connection id -> player number
	owner      map[string]*object.WebSocket // connection id -> the socket that plays it
	buckets    map[*object.WebSocket]*bucket
	acks       []string
	specs      int
	specsDirty bool

	ticking  bool
	nextTick time.Time
	lastStep time.Time

	pending  map[string]*Score // score changes not yet submitted, by player uid
	syncing  bool              // a leaderboard call is in flight
	lastSync time.Time
	top      []Score
	topJSON  []byte

	lastSave  time.Time
	lastPrune time.Time

	rebuilt []*object.WebSocket // game sockets this instance was rebuilt from, until resync
}

// resume is a player's record in the session's storage (key "p:" + connection
// id), so a player who reconnects (same ?_pk=, which partysocket keeps across
// reconnects, and same name) within resumeWindow gets their score and position
// back, after a restart too. It is saved every saveEvery while ticking (in its
// own turn, so the tick turns stay write-free), when the player's socket closes
// (including the 1012 of a graceful shutdown), and pruned after resumeWindow.
type resume struct {
	UID   string  `json:"uid"`
	Name  string  `json:"name"`
	Score int     `json:"score"`
	Lat   float64 `json:"lat"`
	Lng   float64 `json:"lng"`
	At    int64   `json:"at"` // when saved, Unix milliseconds
}

const resumePrefix = "p:"

// attachment is what a socket carries across evictions.
type attachment struct {
	Role     string    `json:"role"` // "player", "spectator" or "visitor" (template room)
	UID      string    `json:"uid,omitempty"`
	Name     string    `json:"name,omitempty"`
	Score    int       `json:"score,omitempty"`
	Position *position `json:"position,omitempty"` // template room
}

type position struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
	ID  string  `json:"id"`
}

func newSession(ctx context.Context, st *object.State, d *deps) (*Session, error) {
	name, _ := st.ID().Name()
	seed := uint64(time.Now().UnixNano())
	s := &Session{
		st: st, d: d, name: name, template: name == TemplateRoom,
		rng:     rand.New(rand.NewPCG(seed, 7)),
		world:   NewWorld(seed),
		players: map[string]int{}, owner: map[string]*object.WebSocket{}, buckets: map[*object.WebSocket]*bucket{},
		pending: map[string]*Score{},
	}
	// Rebuild from the sockets that stayed connected (hibernation or reset), at
	// their saved positions when there are any.
	for _, ws := range st.WebSockets("") {
		a, _ := object.AttachmentOf[attachment](ws) // none: no role
		switch a.Role {
		case "player":
			if old := s.owner[ws.ID()]; old != nil { // replaced, closing: the later socket plays
				s.owner[ws.ID()] = ws
				s.rebuilt = append(s.rebuilt, ws)
				continue
			}
			lat, lng := s.world.SpawnPoint()
			if r, ok := s.loadResume(ws.ID(), a.UID, a.Name); ok {
				lat, lng = r.Lat, r.Lng
			}
			p := s.world.AddPlayer(ws.ID(), a.UID, a.Name, lat, lng, a.Score)
			s.players[ws.ID()] = p.N
			s.owner[ws.ID()] = ws
			d.adm.keep(s.name)
		case "spectator":
			s.specs++
		default:
			continue
		}
		s.rebuilt = append(s.rebuilt, ws)
	}
	if len(s.rebuilt) > 0 {
		st.After(0, s.resync)
	}
	return s, nil
}

// resync is the first turn of an instance rebuilt with game sockets still
// connected (after a failed turn reset it, or an eviction with spectators
// hibernating): its world is new (new items, numbers and positions), so each of
// those sockets gets a welcome and a snapshot again, from which a client rebuilds
// its state, and the tick restarts. Players keep their score and, from their resume
// records, about where they were; they stop until they steer again.
func (s *Session) resync(ctx context.Context) error {
	for _, ws := range s.rebuilt {
		a, _ := object.AttachmentOf[attachment](ws)
		var err error
		switch {
		case a.Role == "player" && s.owner[ws.ID()] == ws:
			err = s.welcome(ws, s.players[ws.ID()], false)
		case a.Role == "spectator":
			err = s.welcome(ws, 0, true)
		}
		if err != nil && !errors.Is(err, object.ErrSocketClosed) {
			return err
		}
	}
	s.rebuilt = nil
	s.startTicking()
	return nil
}

// OnConnect admits a player, a spectator (?spectate=1, or when the session is
// full) or, in the template room, a visitor, within the tick budget (admission.go).
func (s *Session) OnConnect(ctx context.Context, ws *object.WebSocket, r *http.Request) error {
	q := r.URL.Query()
	// Latency probes are answered by the runtime without a turn.
	if err := s.st.SetAutoResponse("ping", "pong"); err != nil {
		return err
	}
	if s.template {
		return s.connectVisitor(ws, q)
	}
	j, err := DecodeJoin(q, ws.ID())
	if err != nil {
		return &object.CloseError{Code: CloseBadRequest, Reason: err.Error()}
	}
	if err := s.d.adm.admit(ws, server.ClientAddr(r), s.st.Now()); err != nil {
		return err
	}
	if err := s.connectGame(ws, j); err != nil {
		s.d.adm.release(ws)
		return err
	}
	s.st.OnCommit(func() { s.d.adm.confirm(ws) })
	return nil
}

func (s *Session) connectGame(ws *object.WebSocket, j Join) error {
	old := s.owner[ws.ID()]
	if j.Spectate || (old == nil && len(s.world.Players) >= s.d.capacity) {
		s.specs++
		s.specsDirty = true
		if err := ws.SetTags("spectator"); err != nil {
			return err
		}
		if err := ws.SetAttachmentJSON(attachment{Role: "spectator"}); err != nil {
			return err
		}
		return s.welcome(ws, 0, true)
	}
	if err := ws.SetTags("player"); err != nil {
		return err
	}
	if err := s.d.adm.play(ws, s.name); err != nil {
		return err
	}
	if old != nil { // the same connection id again: this socket takes the player over
		return s.takeOver(old, ws, j.UID)
	}
	if !s.d.adm.hold(s.name, s.st.Now()) {
		return &object.CloseError{Code: object.CloseTryAgainLater, Reason: "every session slot is taken: try again later"}
	}
	s.st.OnCommit(func() { s.d.adm.confirm(s.name) })
	name := j.Name
	lat, lng := s.world.SpawnPoint()
	score := 0
	if r, ok := s.loadResume(ws.ID(), j.UID, name); ok { // a reconnect: pick up where they were
		name, lat, lng, score = r.Name, r.Lat, r.Lng, r.Score
	}
	if name == "" {
		name = "player-" + strconv.Itoa(s.world.nextN+1)
	}
	p := s.world.AddPlayer(ws.ID(), j.UID, name, lat, lng, score)
	s.players[ws.ID()] = p.N
	s.owner[ws.ID()] = ws
	// Score in the attachment is what the leaderboard has been told about.
	if err := ws.SetAttachmentJSON(attachment{Role: "player", UID: j.UID, Name: name, Score: score}); err != nil {
		return err
	}
	if err := s.welcome(ws, p.N, false); err != nil {
		return err
	}
	s.reportLobby(true)
	s.startTicking()
	return nil
}

// takeOver moves the player of old (a socket with the same connection id) to ws,
// with its attachment, and closes old; a socket of another player (uid) is refused.
func (s *Session) takeOver(old, ws *object.WebSocket, uid string) error {
	a, err := object.AttachmentOf[attachment](old)
	if err != nil {
		return err
	}
	if a.UID != uid {
		return &object.CloseError{Code: CloseReplaced, Reason: "connection id in use by another player"}
	}
	if err := ws.SetAttachmentJSON(a); err != nil {
		return err
	}
	s.owner[ws.ID()] = ws
	delete(s.buckets, old)
	if err := old.Close(CloseReplaced, "replaced by a newer connection with the same id"); err != nil && !errors.Is(err, object.ErrSocketClosed) {
		return err
	}
	return s.welcome(ws, s.players[ws.ID()], false)
}

// Welcome is the first frame a game socket receives; a snapshot and the
// leaderboard follow.
type Welcome struct {
	Type      string  `json:"type"` // "welcome"
	Session   string  `json:"session"`
	ID        string  `json:"id"`            // your connection id (sent to you only)
	UID       string  `json:"uid,omitempty"` // your public id, as players and the leaderboard show it
	You       int     `json:"you"`           // your player number, 0 for a spectator
	Spectator bool    `json:"spectator"`
	TickRate  int     `json:"tickRate"`
	Capacity  int     `json:"capacity"`
	Speed     float64 `json:"speed"`
	Pickup    float64 `json:"pickup"`
}

func (s *Session) welcome(ws *object.WebSocket, n int, spectator bool) error {
	uid := ""
	if p := s.world.Players[n]; p != nil {
		uid = p.UID
	}
	if err := ws.SendJSON(Welcome{Type: "welcome", Session: s.name, ID: ws.ID(), UID: uid, You: n, Spectator: spectator,
		TickRate: TickRate, Capacity: s.d.capacity, Speed: Speed, Pickup: PickupDeg}); err != nil {
		return err
	}
	snap := s.world.Snapshot()
	snap.TS = s.st.Now().UnixMilli()
	snap.Spectators = s.specs
	if err := ws.SendJSON(snap); err != nil {
		return err
	}
	if s.topJSON != nil {
		return ws.Send(object.TextMessage(string(s.topJSON)))
	}
	s.sync(true) // first socket of a fresh instance: fetch the leaderboard
	return nil
}

// locate picks a visitor's point in the template room: ?lat=&lng= (from the
// browser's geolocation, with consent), else ?tzo= (the browser's UTC offset in
// minutes, which gives a longitude), else a random point. Game sessions never
// use it: there the server decides (World.SpawnPoint).
func (s *Session) locate(q url.Values) (float64, float64) {
	lat, err1 := strconv.ParseFloat(q.Get("lat"), 64)
	lng, err2 := strconv.ParseFloat(q.Get("lng"), 64)
	if err1 == nil && err2 == nil && lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180 {
		return lat, lng
	}
	if tzo, err := strconv.Atoi(q.Get("tzo")); err == nil && tzo >= -840 && tzo <= 840 {
		return 15 + s.rng.Float64()*40, wrapLng(-float64(tzo)/4 + s.rng.Float64()*10 - 5)
	}
	return RandomPoint(s.rng)
}

// OnMessage handles steering input. Frames over the rate are dropped; a socket
// that keeps flooding is closed. Invalid frames get an error frame.
func (s *Session) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	if s.template {
		return nil // the template's clients never send
	}
	b := s.buckets[ws]
	if b == nil {
		b = &bucket{}
		s.buckets[ws] = b
	}
	if !b.allow(s.st.Now().UnixNano()) {
		if b.dropped > MaxDropped {
			return ws.Close(CloseRateLimited, "input rate exceeded")
		}
		return nil
	}
	in, err := DecodeInput(m.Data)
	if err != nil {
		return ws.SendText(`{"type":"error","code":"invalid","message":"expected {\"type\":\"input\",\"h\":0..360,\"m\":0|1}"}`)
	}
	n, ok := s.players[ws.ID()]
	if !ok || s.owner[ws.ID()] != ws {
		return nil // spectators, and a replaced socket, do not steer
	}
	s.world.Steer(n, in.Heading, in.Moving)
	if in.Probe != "" && len(s.acks) < 4*s.d.capacity {
		s.acks = append(s.acks, in.Probe)
	}
	s.startTicking()
	return nil
}

// OnClose removes the player (or spectator, or visitor).
func (s *Session) OnClose(ctx context.Context, ws *object.WebSocket, code int, reason string, clean bool) error {
	delete(s.buckets, ws)
	s.d.adm.release(ws)
	if s.template {
		for _, o := range s.st.WebSockets("") {
			if o != ws && o.ID() == ws.ID() {
				return nil // another socket still holds this marker
			}
		}
		s.st.BroadcastText(`{"type":"remove-marker","id":` + jsonString(ws.ID()) + `}`)
		return nil
	}
	if n, ok := s.players[ws.ID()]; ok {
		if s.owner[ws.ID()] != ws {
			return nil // replaced: the player plays on from the newer socket
		}
		if p := s.world.Players[n]; p != nil {
			s.saveResume(map[string][]byte{resumePrefix + p.ID: s.resumeOf(p)})
		}
		delete(s.players, ws.ID())
		delete(s.owner, ws.ID())
		s.world.RemovePlayer(n)
		if len(s.world.Players) == 0 {
			s.d.adm.drop(s.name)
		}
		s.reportLobby(false)
		if !s.ticking { // no tick will carry the leave: send it now
			d := s.world.Delta()
			d.TS = s.st.Now().UnixMilli()
			s.broadcast(d)
		}
		return nil
	}
	if a, _ := object.AttachmentOf[attachment](ws); a.Role == "spectator" && s.specs > 0 {
		s.specs--
		s.specsDirty = true
	}
	return nil
}

func (s *Session) broadcast(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	s.st.Broadcast(object.Message{Data: b})
}

// startTicking starts the tick chain if it is not running and players are present.
func (s *Session) startTicking() {
	if s.ticking || len(s.world.Players) == 0 {
		return
	}
	s.ticking = true
	now := s.st.Now()
	// The first tick is at the session's phase, within one interval; scheduleTick
	// adds the interval.
	first := now.Truncate(TickInterval).Add(s.d.tickPhase())
	for !first.After(now) {
		first = first.Add(TickInterval)
	}
	s.lastStep, s.nextTick = now, first.Add(-TickInterval)
	s.scheduleTick()
}

// scheduleTick runs the tick as a turn at the next tick time, on the runtime's
// clock (State.After). Ticks are at fixed times (no drift); a late tick skips ahead
// by whole intervals rather than bunching up, keeping the session's phase.
func (s *Session) scheduleTick() {
	now := s.st.Now()
	s.nextTick = s.nextTick.Add(TickInterval)
	if s.nextTick.Before(now.Add(-TickInterval)) {
		s.nextTick = s.nextTick.Add(now.Sub(s.nextTick) / TickInterval * TickInterval)
	}
	s.st.After(max(s.nextTick.Sub(now), 0), s.tick)
}

// tick is one turn: step the world, broadcast the delta, and do the batched
// leaderboard work. It writes nothing to SQLite, so its commit costs no fsync.
func (s *Session) tick(ctx context.Context) error {
	start := time.Now()
	now := s.st.Now()
	if len(s.world.Players) == 0 {
		s.ticking = false
		s.sync(true)
		return nil
	}
	s.d.stats.interval(now.Sub(s.lastStep))
	s.world.Step(now.Sub(s.lastStep).Seconds())
	s.lastStep = now
	d := s.world.Delta()
	d.TS = now.UnixMilli()
	d.Acks, s.acks = s.acks, nil
	if s.specsDirty {
		n := s.specs
		d.Specs, s.specsDirty = &n, false
	}
	for _, sc := range d.Scores {
		p := s.world.Players[sc[0]]
		if p == nil {
			continue
		}
		e := s.pending[p.UID]
		if e == nil {
			e = &Score{ID: p.UID}
			s.pending[p.UID] = e
		}
		e.Name = p.Name
		// Scores only grow; the change since the last delta is what was collected.
		e.Best = max(e.Best, p.Score)
		if ws := s.owner[p.ID]; ws != nil {
			a, _ := object.AttachmentOf[attachment](ws)
			e.Total += p.Score - a.Score
			a.Score = p.Score
			ws.SetAttachmentJSON(a)
		}
	}
	d.At = time.Now().UnixMicro()              // the send time, for clients' broadcast latency
	if b, err := d.MarshalJSON(); err == nil { // directly: json.Marshal would copy and re-scan it
		s.st.Broadcast(object.Message{Data: b})
	}
	s.sync(false)
	if now.Sub(s.lastSave) >= saveEvery {
		s.lastSave = now
		s.st.Go(func(context.Context) func(context.Context) error { return s.savePlayers })
	}
	s.scheduleTick()
	s.d.stats.cost(time.Since(start), len(s.world.Players))
	return nil
}

func (s *Session) resumeOf(p *Player) []byte {
	b, _ := json.Marshal(resume{UID: p.UID, Name: p.Name, Score: p.Score, Lat: round2(p.Lat), Lng: round2(p.Lng), At: s.st.Now().UnixMilli()})
	return b
}

// loadResume returns the resume record of connection id if it is recent, of the
// same player (uid) and its name matches (an empty name matches any: the page did
// not give one).
func (s *Session) loadResume(id, uid, name string) (resume, bool) {
	var r resume
	b, ok, err := s.st.Storage().Get(resumePrefix + id)
	if err != nil || !ok || json.Unmarshal(b, &r) != nil {
		return r, false
	}
	if s.st.Now().Sub(time.UnixMilli(r.At)) > resumeWindow || r.UID != uid || (name != "" && name != r.Name) {
		return r, false
	}
	return r, true
}

func (s *Session) saveResume(m map[string][]byte) {
	if err := s.st.Storage().PutMany(m); err != nil {
		s.st.Logger().Warn("globe: saving players failed", "err", err)
	}
}

// savePlayers is a turn of its own: it saves every player's resume record and,
// now and then, deletes records older than resumeWindow.
func (s *Session) savePlayers(ctx context.Context) error {
	if len(s.world.Players) > 0 {
		m := make(map[string][]byte, len(s.world.Players))
		for _, p := range s.world.Players {
			m[resumePrefix+p.ID] = s.resumeOf(p)
		}
		s.saveResume(m)
	}
	now := s.st.Now()
	if now.Sub(s.lastPrune) < resumeWindow/2 {
		return nil
	}
	s.lastPrune = now
	ents, err := s.st.Storage().List(object.ListOptions{Prefix: resumePrefix})
	if err != nil {
		return nil
	}
	var old []string
	for _, e := range ents {
		var r resume
		if json.Unmarshal(e.Value, &r) != nil || now.Sub(time.UnixMilli(r.At)) > resumeWindow {
			old = append(old, e.Key)
		}
	}
	if len(old) > 0 {
		s.st.Storage().DeleteMany(old)
	}
	return nil
}

// sync submits pending score changes to the leaderboard (at most every
// flushEvery, or now when force) and refreshes the leaderboard every
// refreshEvery; the call runs outside the turn and its result comes back as a
// turn that broadcasts the leaderboard when it changed.
func (s *Session) sync(force bool) {
	now := s.st.Now()
	if s.syncing {
		return
	}
	due := now.Sub(s.lastSync) >= refreshEvery || (len(s.pending) > 0 && now.Sub(s.lastSync) >= flushEvery)
	if !force && !due {
		return
	}
	batch := Submission{Scores: make([]Score, 0, len(s.pending))}
	for _, e := range s.pending {
		batch.Scores = append(batch.Scores, *e)
	}
	s.pending = map[string]*Score{}
	s.syncing, s.lastSync = true, now
	d := s.d
	s.st.Go(func(ctx context.Context) func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		top, err := submitScores.Call(cctx, d.board, batch)
		cancel()
		return func(ctx context.Context) error {
			s.syncing = false
			if err != nil {
				s.st.Logger().Warn("globe: leaderboard submit failed", "err", err)
				for _, sc := range batch.Scores { // keep them for the next try
					e := s.pending[sc.ID]
					if e == nil {
						e = &Score{ID: sc.ID, Name: sc.Name}
						s.pending[sc.ID] = e
					}
					e.Best, e.Total = max(e.Best, sc.Best), e.Total+sc.Total
				}
				return nil
			}
			b, _ := json.Marshal(struct {
				Type string  `json:"type"`
				Top  []Score `json:"top"`
			}{"leaderboard", top})
			if string(b) != string(s.topJSON) {
				s.top, s.topJSON = top, b
				s.st.Broadcast(object.Message{Data: b})
			}
			// Changes made while this call was out (the last player leaving, say) wait
			// for the next tick; with no tick running, nothing else would send them.
			if !s.ticking && len(s.pending) > 0 {
				s.sync(true)
			}
			return nil
		}
	})
}

// reportLobby tells the lobby this session's player count, outside the turn.
func (s *Session) reportLobby(joined bool) {
	r := SessionReport{Session: s.name, Players: len(s.world.Players), Joined: joined, At: s.st.Now().UnixNano()}
	d := s.d
	s.st.Go(func(ctx context.Context) func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		reportSession.Call(cctx, d.lobby, r)
		return nil
	})
}

// connectVisitor is the template room: a marker per visitor, by connection id (the
// template's protocol shows it to everyone). Sockets with the same id share one
// marker, the first one's: a second socket neither doubles it nor, leaving, removes
// it while another holds it, and it replaces nobody (anyone can learn an id here).
func (s *Session) connectVisitor(ws *object.WebSocket, q url.Values) error {
	markers := map[string]*position{}
	var order []*position
	for _, o := range s.st.WebSockets("") {
		a, _ := object.AttachmentOf[attachment](o)
		if o == ws || a.Position == nil || markers[a.Position.ID] != nil {
			continue
		}
		markers[a.Position.ID] = a.Position
		order = append(order, a.Position)
	}
	pos := markers[ws.ID()]
	if pos == nil {
		lat, lng := s.locate(q)
		pos = &position{Lat: round2(lat), Lng: round2(lng), ID: ws.ID()}
		order = append(order, pos)
		s.st.BroadcastText(addMarker(pos), ws)
	}
	if err := ws.SetAttachmentJSON(attachment{Role: "visitor", Position: pos}); err != nil {
		return err
	}
	for _, p := range order {
		if err := ws.SendText(addMarker(p)); err != nil {
			return err
		}
	}
	return nil
}

func addMarker(p *position) string {
	b, _ := json.Marshal(struct {
		Type     string    `json:"type"`
		Position *position `json:"position"`
	}{"add-marker", p})
	return string(b)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ServeHTTP answers GET /parties/globe/<name> with the session's state.
func (s *Session) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	object.WriteJSON(w, http.StatusOK, struct {
		Session    string  `json:"session"`
		Players    int     `json:"players"`
		Spectators int     `json:"spectators"`
		Ticking    bool    `json:"ticking"`
		Tick       uint64  `json:"tick"`
		Top        []Score `json:"top"`
	}{s.name, len(s.world.Players), s.specs, s.ticking, s.world.Tick, s.top})
}
