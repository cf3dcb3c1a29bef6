package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/objecttest"
	"github.com/warrenhq/warren/runtime/server"
)

// start runs the app on a free loopback port with data in dir until the test ends
// (or stop is called) and returns its address.
func start(t *testing.T, dir string, opt Options) (addr string, stop func()) {
	t.Helper()
	return startApp(t, dir, globeApp(opt))
}

// startApp is start with the app described by a.
func startApp(t *testing.T, dir string, a server.App) (addr string, stop func()) {
	t.Helper()
	ready := make(chan net.Addr, 1)
	a.Ready = func(ad net.Addr) { ready <- ad }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, a, []string{"-addr", "127.0.0.1:0", "-data", dir, "-log-level", "error"}, io.Discard)
	}()
	select {
	case ad := <-ready:
		addr = ad.String()
	case err := <-done:
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return addr, stop
}

type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func dial(t *testing.T, addr, path string) *client {
	t.Helper()
	return dialFrom(t, "", addr, path)
}

// dialFrom is dial from the loopback source address src ("" for the default), so
// that tests can play clients of several addresses.
func dialFrom(t *testing.T, src, addr, path string) *client {
	t.Helper()
	h := http.Header{"Origin": {"http://" + addr}}
	d := *websocket.DefaultDialer
	if src != "" {
		d.NetDialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}).DialContext
	}
	ws, _, err := d.Dial("ws://"+addr+path, h)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	t.Cleanup(func() { ws.Close() })
	return &client{t: t, ws: ws}
}

// next reads frames until one satisfies ok (a frame is decoded into a map).
func (c *client) next(what string, ok func(m map[string]any) bool) map[string]any {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			c.t.Fatalf("not JSON: %q", b)
		}
		if ok(m) {
			return m
		}
	}
}

// closed reads until the socket is closed and returns the close code (0 when it
// ended without a close frame).
func (c *client) closed() int {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			return c.closedWith(err)
		}
	}
}

// closedWith returns the close code of a read error (0 when the connection ended
// without a close frame); a read timeout fails the test.
func (c *client) closedWith(err error) int {
	c.t.Helper()
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		c.t.Fatalf("socket still open: %v", err)
	}
	return 0
}

func ofType(typ string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == typ }
}

func (c *client) send(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

func TestTemplateParity(t *testing.T) {
	addr, _ := start(t, t.TempDir(), Options{})
	a := dial(t, addr, "/parties/globe/default?_pk=alice&lat=48.85&lng=2.35")
	m := a.next("own add-marker", ofType("add-marker"))
	pos := m["position"].(map[string]any)
	if pos["id"] != "alice" || pos["lat"] != 48.85 || pos["lng"] != 2.35 {
		t.Fatalf("own marker: %v", m)
	}
	b := dial(t, addr, "/parties/globe/default?_pk=bob")
	seen := map[string]bool{}
	for len(seen) < 2 {
		m := b.next("markers", ofType("add-marker"))
		seen[m["position"].(map[string]any)["id"].(string)] = true
	}
	if !seen["alice"] || !seen["bob"] {
		t.Fatalf("bob saw %v", seen)
	}
	m = a.next("bob's add-marker", ofType("add-marker"))
	if m["position"].(map[string]any)["id"] != "bob" {
		t.Fatalf("alice got %v", m)
	}
	b.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""))
	b.ws.Close()
	m = a.next("remove-marker", ofType("remove-marker"))
	if m["id"] != "bob" {
		t.Fatalf("remove: %v", m)
	}
}

func TestGameOverLoopback(t *testing.T) {
	dir := t.TempDir()
	addr, stop := start(t, dir, Options{Capacity: 2})
	join := func() JoinResponse {
		resp, err := http.Get("http://" + addr + "/api/join")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var j JoinResponse
		json.NewDecoder(resp.Body).Decode(&j)
		return j
	}
	s1 := join().Session
	alice := dial(t, addr, objecttest.PartyPath("globe", s1)+"?_pk=a1&name=%3Cb%3Ealice&lat=0&lng=0")
	w := alice.next("welcome", ofType("welcome"))
	if w["you"].(float64) != 1 || w["session"] != s1 || w["spectator"] != false {
		t.Fatalf("welcome %v", w)
	}
	snap := alice.next("snapshot", ofType("snapshot"))
	if ps := snap["players"].([]any); len(ps) != 1 || ps[0].(map[string]any)["name"] != "balice" {
		t.Fatalf("snapshot players %v", snap["players"])
	}
	if s2 := join().Session; s2 != s1 {
		t.Fatalf("second player sent to %s, want %s", s2, s1)
	}
	bob := dial(t, addr, objecttest.PartyPath("globe", s1)+"?_pk=b1&name=bob&lat=10&lng=10")
	bob.next("welcome", ofType("welcome"))
	// The session is full (capacity 2 with the reservation of a third join): a new one.
	if s3 := join().Session; s3 == s1 {
		t.Fatalf("third player sent to the full session %s", s1)
	}
	// Bob steers with a probe; alice sees him move and the probe acknowledged.
	bob.send(`{"type":"input","h":90,"m":1,"p":"probe-1"}`)
	alice.next("bob moving", func(m map[string]any) bool {
		if m["type"] != "tick" {
			return false
		}
		acked := false
		for _, a := range asSlice(m["a"]) {
			acked = acked || a == "probe-1"
		}
		return acked
	})
	alice.next("bob's position", func(m map[string]any) bool {
		for _, p := range asSlice(m["p"]) {
			if p.([]any)[0].(float64) == 2 {
				return true
			}
		}
		return false
	})
	// Invalid frames get an error; the socket stays open.
	bob.send(`{"type":"input","h":"north"}`)
	bob.next("error", ofType("error"))
	// A spectator gets the snapshot and ticks but cannot steer.
	spec := dial(t, addr, objecttest.PartyPath("globe", s1)+"?_pk=s1&spectate=1")
	if w := spec.next("welcome", ofType("welcome")); w["spectator"] != true {
		t.Fatalf("spectator welcome %v", w)
	}
	spec.next("tick", ofType("tick"))
	// Bob leaves: alice gets "l".
	bob.ws.Close()
	alice.next("bob left", func(m map[string]any) bool {
		for _, n := range asSlice(m["l"]) {
			if n.(float64) == 2 {
				return true
			}
		}
		return false
	})
	_ = stop
}

// TestLeaderboardPersists collects an item by steering toward it, then checks the
// all-time leaderboard before and after a restart.
func TestLeaderboardPersists(t *testing.T) {
	dir := t.TempDir()
	addr, stop := start(t, dir, Options{})
	c := dial(t, addr, "/parties/globe/lb-test?_pk=p1&name=carol")
	you := c.next("welcome", ofType("welcome"))["you"].(float64)
	snap := c.next("snapshot", ofType("snapshot"))
	collect(t, c, you, snap)
	lb := c.next("leaderboard", func(m map[string]any) bool {
		return m["type"] == "leaderboard" && len(asSlice(m["top"])) > 0
	})
	if top := asSlice(lb["top"])[0].(map[string]any); top["name"] != "carol" || top["best"].(float64) < 1 {
		t.Fatalf("leaderboard %v", lb)
	}
	stop()
	addr, _ = start(t, dir, Options{})
	resp, err := http.Get("http://" + addr + "/api/leaderboard")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var top []Score
	json.NewDecoder(resp.Body).Decode(&top)
	if len(top) == 0 || top[0].Name != "carol" || top[0].Best < 1 {
		t.Fatalf("after restart: %+v", top)
	}
}

// collect steers player you of c (with no score yet) toward the nearest item it
// knows of until the player scores, and returns the score and where the player was then. It keeps the
// world as a page does (items from snapshots, spawned and taken in ticks; a new
// welcome and snapshot after the session was rebuilt), re-aims when its item is
// gone, and steers again every second as the page does. It reads every tick as it
// comes and steers from the newest position: a reader that falls behind steers
// from stale positions, overshoots and circles the item.
func collect(t *testing.T, c *client, you float64, snap map[string]any) (score, lat, lng float64) {
	t.Helper()
	lat, lng = playerAt(t, snap, you)
	items := map[float64][2]float64{}
	known := func(list any) {
		for _, it := range asSlice(list) {
			it := it.(map[string]any)
			items[it["n"].(float64)] = [2]float64{it["lat"].(float64), it["lng"].(float64)}
		}
	}
	known(snap["items"])
	sent, sentAt := -1.0, time.Time{}
	deadline := time.Now().Add(60 * time.Second) // ticks slow down on a loaded machine
	for {
		target, ok := nearest(items, lat, lng)
		if time.Now().After(deadline) {
			t.Fatalf("player %v collected nothing in 60 s (at %.1f,%.1f, aiming at %.1f,%.1f of %d items)", you, lat, lng, target[0], target[1], len(items))
		}
		// Steer when the heading changes (the input rate is bounded; ticks are not).
		if h := bearing(lat, lng, target[0], target[1]); ok && (sent < 0 || math.Abs(math.Remainder(h-sent, 360)) > 2 || time.Since(sentAt) > time.Second) {
			c.send(fmt.Sprintf(`{"type":"input","h":%.1f,"m":1}`, h))
			sent, sentAt = h, time.Now()
		}
		m := c.next("tick", func(m map[string]any) bool { return m["type"] != "leaderboard" })
		switch m["type"] {
		case "welcome": // the session was rebuilt: its world follows
			you = m["you"].(float64)
			continue
		case "snapshot":
			lat, lng = playerAt(t, m, you)
			clear(items)
			known(m["items"])
			continue
		}
		for _, p := range asSlice(m["j"]) {
			if p := p.(map[string]any); p["n"] == you {
				lat, lng = p["lat"].(float64), p["lng"].(float64)
				if sc := p["score"].(float64); sc > 0 {
					return sc, lat, lng
				}
			}
		}
		for _, p := range asSlice(m["p"]) {
			if p := p.([]any); p[0].(float64) == you {
				lat, lng = p[1].(float64), p[2].(float64)
			}
		}
		known(m["i"])
		for _, n := range asSlice(m["t"]) {
			delete(items, n.(float64))
		}
		for _, s := range asSlice(m["s"]) {
			if s := s.([]any); s[0].(float64) == you && s[1].(float64) > 0 {
				return s[1].(float64), lat, lng
			}
		}
	}
}

// nearest is the item nearest to (lat, lng), false when there is none.
func nearest(items map[float64][2]float64, lat, lng float64) ([2]float64, bool) {
	var best [2]float64
	bd := 1e9
	for _, it := range items {
		if d := Distance(lat, lng, it[0], it[1]); d < bd {
			bd, best = d, it
		}
	}
	return best, bd < 1e9
}

// playerAt is where player n is in a snapshot.
func playerAt(t *testing.T, snap map[string]any, n float64) (lat, lng float64) {
	t.Helper()
	for _, p := range asSlice(snap["players"]) {
		if p := p.(map[string]any); p["n"] == n {
			return p["lat"].(float64), p["lng"].(float64)
		}
	}
	t.Fatalf("player %v not in snapshot %v", n, snap)
	return 0, 0
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// bearing is the initial heading from one point to another, degrees in [0, 360).
func bearing(lat1, lng1, lat2, lng2 float64) float64 {
	const r = 3.141592653589793 / 180
	y := math.Sin((lng2-lng1)*r) * math.Cos(lat2*r)
	x := math.Cos(lat1*r)*math.Sin(lat2*r) - math.Sin(lat1*r)*math.Cos(lat2*r)*math.Cos((lng2-lng1)*r)
	h := math.Atan2(y, x) / r
	for h < 0 {
		h += 360
	}
	for h >= 360 {
		h -= 360
	}
	return h
}

// TestResumeAfterRestart: a player who reconnects with the same identity (the
// connection id partysocket keeps, and the name) after a server restart gets
// their session score and position back; another connection id does not.
func TestResumeAfterRestart(t *testing.T) {
	dir := t.TempDir()
	addr, stop := start(t, dir, Options{})
	c := dial(t, addr, "/parties/globe/resume?_pk=dora-1&name=dora")
	you := c.next("welcome", ofType("welcome"))["you"].(float64)
	snap := c.next("snapshot", ofType("snapshot"))
	score, lat, lng := collect(t, c, you, snap)
	c.send(`{"type":"input","h":0,"m":0}`) // stop, so the position is stable
	c.next("stopped", func(m map[string]any) bool {
		for _, p := range asSlice(m["p"]) {
			if p := p.([]any); p[0].(float64) == you {
				lat, lng = p[1].(float64), p[2].(float64)
			}
		}
		return m["type"] == "tick" && len(asSlice(m["p"])) == 0
	})
	stop() // graceful: sockets close with 1012

	addr, _ = start(t, dir, Options{})
	me := func(c *client) map[string]any {
		you := c.next("welcome", ofType("welcome"))["you"]
		snap := c.next("snapshot", ofType("snapshot"))
		for _, p := range asSlice(snap["players"]) {
			if p := p.(map[string]any); p["n"] == you {
				return p
			}
		}
		t.Fatalf("player %v not in snapshot %v", you, snap)
		return nil
	}
	// Same connection id, no name given (as a page without one): dora is back.
	c = dial(t, addr, "/parties/globe/resume?_pk=dora-1")
	p := me(c)
	if p["name"] != "dora" || p["score"].(float64) != score || abs(p["lat"].(float64)-lat) > 0.5 || abs(p["lng"].(float64)-lng) > 0.5 {
		t.Fatalf("after restart dora is %v, want score %v at %v,%v", p, score, lat, lng)
	}
	// Another connection id, even with the same name, starts afresh; so does the
	// same id with another name.
	for _, q := range []string{"_pk=dora-2&name=dora", "_pk=dora-1x&name=eve"} {
		o := dial(t, addr, "/parties/globe/resume?"+q)
		if p := me(o); p["score"].(float64) != 0 {
			t.Fatalf("%s resumed someone: %v", q, p)
		}
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
