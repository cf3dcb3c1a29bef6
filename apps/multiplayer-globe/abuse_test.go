package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// joinGame connects a player and returns its welcome and snapshot.
func joinGame(t *testing.T, addr, path string) (*client, map[string]any, map[string]any) {
	t.Helper()
	c := dial(t, addr, path)
	w := c.next("welcome", ofType("welcome"))
	return c, w, c.next("snapshot", ofType("snapshot"))
}

// TestSpawnIsServerDecided pins issue 14 finding 7 (teleport): ?lat=&lng= placed a
// player where the client said, so reconnecting next to the best item scored at
// once (22 points in 4.4 s). Now the server picks the start, near another player
// and away from the items. Fails on the code before: the player started on the item.
func TestSpawnIsServerDecided(t *testing.T) {
	addr, _ := start(t, t.TempDir(), Options{})
	_, _, snap := joinGame(t, addr, "/parties/globe/spawn?_pk=first&name=first")
	for i := range 10 {
		it := asSlice(snap["items"])[i%len(asSlice(snap["items"]))].(map[string]any)
		lat, lng := it["lat"].(float64), it["lng"].(float64)
		c, w, s := joinGame(t, addr, fmt.Sprintf("/parties/globe/spawn?_pk=cheat-%d&name=cheat&lat=%v&lng=%v&tzo=0", i, lat, lng))
		plat, plng := playerAt(t, s, w["you"].(float64))
		for _, it := range asSlice(s["items"]) {
			it := it.(map[string]any)
			if d := Distance(plat, plng, it["lat"].(float64), it["lng"].(float64)); d < 2*PickupDeg {
				t.Fatalf("asked for %v,%v; started at %v,%v, %.1f° from an item", lat, lng, plat, plng, d)
			}
		}
		if plat < -SpawnMaxLat || plat > SpawnMaxLat {
			t.Fatalf("started at latitude %v", plat)
		}
		c.ws.Close()
		snap = s
	}
}

// TestConnectionIDNeverSent pins issue 14 finding 7 (hijacking, first half): every
// player's connection id (?_pk=) was in snapshots and joins, visible to any
// spectator, who could then connect with it. Now players are shown by a public id
// (a hash of their token). Fails on the code before: the spectator saw the id.
func TestConnectionIDNeverSent(t *testing.T) {
	addr, _ := start(t, t.TempDir(), Options{})
	const secret = "victim-connection-id-4242"
	spec := dial(t, addr, "/parties/globe/pk?_pk=spec&spectate=1")
	spec.next("welcome", ofType("welcome"))
	victim, w, _ := joinGame(t, addr, "/parties/globe/pk?_pk="+secret+"&name=victim&token=victim-secret-token-1")
	if w["id"] != secret || w["uid"] == "" || w["uid"] == secret {
		t.Fatalf("the victim's own welcome: %v", w)
	}
	victim.send(`{"type":"input","h":90,"m":1}`)
	late := dial(t, addr, "/parties/globe/pk?_pk=late&spectate=1")
	for _, c := range []*client{spec, late} {
		c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		for range 40 { // welcome, snapshot, leaderboard, ticks with the join and moves
			_, b, err := c.ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), secret) {
				t.Fatalf("a spectator received the victim's connection id: %s", b)
			}
		}
	}
}

// TestOnePlayerPerConnectionID pins issue 14 finding 7 (hijacking, second half):
// each socket with a given ?_pk= added a player, input from any moved the last one,
// the sockets shared one rate limit (the victim was closed with 4029), and closing
// one removed another's player: 64 sockets with one id left 63 ghosts that kept the
// session ticking. Now a second socket takes the player over and the first is
// closed with 4409. Fails on the code before: 8 players.
func TestOnePlayerPerConnectionID(t *testing.T) {
	addr, _ := start(t, t.TempDir(), Options{})
	var socks []*client
	for range 8 {
		c, w, _ := joinGame(t, addr, "/parties/globe/one?_pk=same-id&name=dora")
		if w["you"].(float64) != 1 {
			t.Fatalf("socket %d plays player %v, want 1", len(socks), w["you"])
		}
		if len(socks) > 0 {
			if code := socks[len(socks)-1].closed(); code != CloseReplaced {
				t.Fatalf("the replaced socket closed with %d, want %d", code, CloseReplaced)
			}
		}
		socks = append(socks, c)
	}
	state := func() (players int, ticking bool) {
		resp, err := http.Get("http://" + addr + "/parties/globe/one")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st struct {
			Players int
			Ticking bool
		}
		json.NewDecoder(resp.Body).Decode(&st)
		return st.Players, st.Ticking
	}
	if n, _ := state(); n != 1 {
		t.Fatalf("8 sockets with one connection id made %d players, want 1", n)
	}
	// The same connection id with another player's token takes nothing over.
	if code := dial(t, addr, "/parties/globe/one?_pk=same-id&token=other-player-token-01").closed(); code != CloseReplaced {
		t.Fatalf("another player's socket with the id closed with %d, want %d", code, CloseReplaced)
	}
	last := socks[len(socks)-1]
	last.send(`{"type":"input","h":90,"m":1}`)
	last.next("the player moving", func(m map[string]any) bool { return m["type"] == "tick" && len(asSlice(m["p"])) > 0 })
	last.ws.Close()
	deadline := time.Now().Add(5 * time.Second)
	for n, ticking := state(); n != 0 || ticking; n, ticking = state() {
		if time.Now().After(deadline) {
			t.Fatalf("after the last socket left: %d players, ticking %v", n, ticking)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTemplateRoomSharedConnectionID: in the template room the connection ids are
// the markers' ids (everyone sees them, as in the template), so sockets with the
// same id share one marker: a second one neither doubles the visitor's marker nor
// removes it when it leaves. Fails on the code before: the observer got a second
// add-marker, then a remove-marker for a visitor still there.
func TestTemplateRoomSharedConnectionID(t *testing.T) {
	addr, _ := start(t, t.TempDir(), Options{})
	visitor := dial(t, addr, "/parties/globe/default?_pk=visitor&lat=10&lng=20")
	visitor.next("own marker", ofType("add-marker"))
	observer := dial(t, addr, "/parties/globe/default?_pk=observer")
	for range 2 {
		observer.next("markers", ofType("add-marker"))
	}
	dup := dial(t, addr, "/parties/globe/default?_pk=visitor&lat=-50&lng=-60")
	seen := map[string]int{}
	for range 2 {
		m := dup.next("markers", ofType("add-marker"))
		p := m["position"].(map[string]any)
		if seen[p["id"].(string)]++; p["id"] == "visitor" && (p["lat"] != 10.0 || p["lng"] != 20.0) {
			t.Fatalf("the second socket moved the marker: %v", m)
		}
	}
	if seen["visitor"] != 1 || seen["observer"] != 1 {
		t.Fatalf("the second socket got markers %v", seen)
	}
	dup.ws.Close()
	dial(t, addr, "/parties/globe/default?_pk=sentinel")
	observer.next("the sentinel's marker", func(m map[string]any) bool {
		if m["type"] == "remove-marker" || m["type"] == "add-marker" && m["position"].(map[string]any)["id"] == "visitor" {
			t.Fatalf("observer got %v", m)
		}
		return m["type"] == "add-marker" && m["position"].(map[string]any)["id"] == "sentinel"
	})
	visitor.ws.Close()
	if m := observer.next("remove-marker", ofType("remove-marker")); m["id"] != "visitor" {
		t.Fatalf("remove-marker %v", m)
	}
}

// TestLeaderboardKeyedByPlayer pins issue 14 finding 7 (leaderboard): it was keyed
// by display name, so anyone could add points to someone else's entry. Now an
// entry is a player id (a hash of the token the page keeps): two players called
// carol get two entries. Fails on the code before: one "carol" entry with both
// players' points.
func TestLeaderboardKeyedByPlayer(t *testing.T) {
	addr, _ := start(t, t.TempDir(), Options{})
	type bot struct {
		c        *client
		you, uid any
		lat, lng float64
		score    float64
	}
	var bots []*bot
	for i := range 2 {
		c, w, snap := joinGame(t, addr, fmt.Sprintf("/parties/globe/lb-keys?_pk=carol-%d&name=carol&token=carol-secret-token-%04d", i, i))
		b := &bot{c: c, you: w["you"], uid: w["uid"]}
		b.lat, b.lng = playerAt(t, snap, w["you"].(float64))
		bots = append(bots, b)
	}
	items := map[float64][2]float64{}
	deadline := time.Now().Add(30 * time.Second)
	for bots[0].score == 0 || bots[1].score == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the carols collected %v and %v", bots[0].score, bots[1].score)
		}
		for _, b := range bots {
			m := b.c.next("tick", ofType("tick"))
			for _, it := range asSlice(m["i"]) {
				it := it.(map[string]any)
				items[it["n"].(float64)] = [2]float64{it["lat"].(float64), it["lng"].(float64)}
			}
			for _, n := range asSlice(m["t"]) {
				delete(items, n.(float64))
			}
			for _, p := range asSlice(m["p"]) {
				if p := p.([]any); p[0] == b.you {
					b.lat, b.lng = p[1].(float64), p[2].(float64)
				}
			}
			for _, s := range asSlice(m["s"]) {
				if s := s.([]any); s[0] == b.you {
					b.score = s[1].(float64)
				}
			}
			if b.score == 0 {
				target, best := [2]float64{}, 1e9
				for _, it := range items {
					if d := Distance(b.lat, b.lng, it[0], it[1]); d < best {
						target, best = it, d
					}
				}
				b.c.send(fmt.Sprintf(`{"type":"input","h":%.1f,"m":1}`, bearing(b.lat, b.lng, target[0], target[1])))
			}
		}
	}
	for _, b := range bots {
		b.c.ws.Close() // the last player leaving submits at once
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/api/leaderboard")
		if err != nil {
			t.Fatal(err)
		}
		var top []Score
		json.NewDecoder(resp.Body).Decode(&top)
		resp.Body.Close()
		got := map[any]Score{}
		for _, s := range top {
			got[s.ID] = s
		}
		if len(top) == 2 && got[bots[0].uid].Total == int(bots[0].score) && got[bots[1].uid].Total == int(bots[1].score) &&
			got[bots[0].uid].Name == "carol" && got[bots[1].uid].Name == "carol" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leaderboard %+v, want an entry for each carol (%v: %v, %v: %v)", top, bots[0].uid, bots[0].score, bots[1].uid, bots[1].score)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestLeaderboardKeepsRowsByName: the leaderboard of earlier versions (a table
// keyed by name) is kept, each row under the id "name:<name>".
func TestLeaderboardKeepsRowsByName(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	touch := object.NewMethodNoArg("touch", func(*Leaderboard, context.Context) (bool, error) { return true, nil })
	old, err := object.Register(rt.Runtime, "leaderboard", func(ctx context.Context, st *object.State) (*Leaderboard, error) {
		_, err := st.SQL().Exec(`CREATE TABLE IF NOT EXISTS scores (name TEXT PRIMARY KEY, best INTEGER NOT NULL, total INTEGER NOT NULL, updated INTEGER NOT NULL);
			INSERT OR IGNORE INTO scores VALUES ('carol', 7, 30, 1), ('dave', 3, 3, 2)`)
		return &Leaderboard{st: st}, err
	}, object.Methods(touch))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := touch.Call(context.Background(), old.GetByName("all-time")); err != nil {
		t.Fatal(err)
	}
	rt = rt.Restart(t, object.Config{})
	ns, err := object.Register(rt.Runtime, "leaderboard", newLeaderboard, boardMethods)
	if err != nil {
		t.Fatal(err)
	}
	top, err := topScores.Call(context.Background(), ns.GetByName("all-time"), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 2 || top[0] != (Score{ID: "name:carol", Name: "carol", Best: 7, Total: 30}) || top[1].ID != "name:dave" {
		t.Fatalf("after the upgrade: %+v", top)
	}
}

// TestTickBudgetPerAddress pins issue 14 finding 8: 1,000 sockets from one address,
// each in a session of its own, each ticking 20 times a second: a bystander got 0
// ticks in 8 s. Now an address plays in at most MaxSessionsPerAddr (8) sessions
// and has at most MaxPerAddr game sockets; more are refused with 4429, and a
// bystander keeps its tick rate. Fails on the code before: all 12 were admitted.
func TestTickBudgetPerAddress(t *testing.T) {
	addr, _ := start(t, t.TempDir(), Options{})
	bystander, _, _ := joinGame(t, addr, "/parties/globe/bystander?_pk=b&name=b")
	admitted, refused := 0, 0
	for i := range MaxSessionsPerAddr + 4 {
		c := dialFrom(t, "127.0.0.2", addr, fmt.Sprintf("/parties/globe/flood-%d?_pk=f%d", i, i))
		c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := c.ws.ReadMessage()
		switch {
		case err == nil && strings.Contains(string(b), `"welcome"`):
			admitted++
		case err != nil && c.closedWith(err) == CloseTooManyAddr:
			refused++
		default:
			t.Fatalf("socket %d: %s %v", i, b, err)
		}
	}
	if admitted != MaxSessionsPerAddr || refused != 4 {
		t.Fatalf("%d admitted, %d refused, want %d and 4", admitted, refused, MaxSessionsPerAddr)
	}
	// Spectators need no session of their own, but count as the address's sockets.
	a2, _ := start(t, t.TempDir(), Options{MaxPerAddr: 3})
	for i := range 3 {
		dialFrom(t, "127.0.0.2", a2, fmt.Sprintf("/parties/globe/w?_pk=w%d&spectate=1", i)).next("welcome", ofType("welcome"))
	}
	if code := dialFrom(t, "127.0.0.2", a2, "/parties/globe/w?_pk=w3&spectate=1").closed(); code != CloseTooManyAddr {
		t.Fatalf("a fourth socket of one address closed with %d, want %d", code, CloseTooManyAddr)
	}
	// Another address still plays, and the bystander keeps ticking (its rate under
	// the flood is measured, see SECURITY.md; a test only checks it goes on).
	joinGame(t, addr, "/parties/globe/other?_pk=o&name=o")
	for range TickRate {
		bystander.next("tick", ofType("tick"))
	}
}

// TestTickBudgetProcess: the process ticks at most MaxSessions sessions and
// serves at most MaxSockets game sockets, whoever asks; a player who would start
// one more session is refused with 1013 and the lobby answers 503 instead of
// creating one, until a session ends. Part of issue 14 finding 8 (many addresses).
func TestTickBudgetProcess(t *testing.T) {
	addr, _ := start(t, t.TempDir(), Options{Capacity: 1, MaxSessions: 3, MaxSockets: 6})
	joinAPI := func() int {
		resp, err := http.Get("http://" + addr + "/api/join")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var players []*client
	for i := range 3 {
		c, _, _ := joinGame(t, addr, fmt.Sprintf("/parties/globe/s%d?_pk=p%d", i, i))
		players = append(players, c)
	}
	if code := dialFrom(t, "127.0.0.3", addr, "/parties/globe/s3?_pk=p3").closed(); code != object.CloseTryAgainLater {
		t.Fatalf("a fourth session's player closed with %d, want 1013", code)
	}
	if code := joinAPI(); code != http.StatusServiceUnavailable {
		t.Fatalf("GET /api/join with every session full: %d, want 503", code)
	}
	// Spectators need no tick slot, but count as sockets.
	for i := range 3 {
		dial(t, addr, fmt.Sprintf("/parties/globe/s%d?_pk=w%d&spectate=1", i, i)).next("welcome", ofType("welcome"))
	}
	if code := dialFrom(t, "127.0.0.4", addr, "/parties/globe/s0?_pk=w9&spectate=1").closed(); code != object.CloseTryAgainLater {
		t.Fatalf("a seventh socket closed with %d, want 1013", code)
	}
	// A session ends: its slot and its sockets are free again.
	players[2].ws.Close()
	deadline := time.Now().Add(5 * time.Second)
	for joinAPI() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the lobby still refuses after a session ended")
		}
		time.Sleep(50 * time.Millisecond)
	}
	joinGame(t, addr, "/parties/globe/s4?_pk=p4")
}

// TestSessionGETCreatesNothing pins issue 14's leftover of finding 12: a GET of any
// session name (GET /parties/globe/<name>, the session's state) created its database
// file. Now HTTP reaches only sessions a socket opened (object.ExistingOnlyHTTP): 404,
// no file; a socket still opens a session by its name, which GET then reads. Fails on
// the code before the fix (200 and 30 files).
func TestSessionGETCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	addr, _ := start(t, dir, Options{})
	get := func(name string) int {
		resp, err := http.Get("http://" + addr + objecttest.PartyPath("globe", name))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 30 {
		if code := get(fmt.Sprintf("guess%d", i)); code != http.StatusNotFound {
			t.Fatalf("GET of a session nobody opened: %d, want 404", code)
		}
	}
	files := func() int {
		m, _ := filepath.Glob(filepath.Join(dir, "globe", "*", "*.sqlite"))
		return len(m)
	}
	if n := files(); n != 0 {
		t.Fatalf("%d session files created by GETs, want 0", n)
	}
	joinGame(t, addr, "/parties/globe/played?_pk=p1&name=ada")
	if code := get("played"); code != http.StatusOK {
		t.Errorf("GET of a session a socket opened: %d, want 200", code)
	}
	if n := files(); n != 1 {
		t.Errorf("%d session files, want 1", n)
	}
}
