//go:build chaos

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/chaostest"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// TestChaos plays the game with bots that steer toward the nearest collectible
// while the server is killed with SIGKILL and restarted (make chaos), and samples
// the all-time leaderboard (GET /api/leaderboard) all along. Scores only reach the
// leaderboard in batches (every 2 s, and when the last player leaves), so each run
// lasts 2.5 to 5 s. An operation is a score the leaderboard reported: the pair
// (name, total), acknowledged when a sample shows it. The invariants:
//
//   - no sample ever shows a name's total or best lower than an earlier sample
//     (scores never go backwards): a decrease counts as lost;
//   - after the last restart, every name's total is at least the highest total
//     ever reported for it: a reported total above the final one is lost;
//   - no name's final total exceeds the points its bots were seen collecting (in
//     their own tick frames), plus one gold collectible per kill (the tick frames a
//     kill may cut off before the bot reads them): the excess counts as duplicated.
func TestChaos(t *testing.T) {
	bin := objecttest.BuildBinary(t, ".")
	gc := &globeChaos{seen: map[string]Score{}, collected: map[string]int{}}
	kills := chaostest.KillsFromEnv(3)
	gc.slack = GoldValue * kills
	chaostest.Run(t, chaostest.Config{Name: "multiplayer-globe", Binary: bin, Kills: kills, Workers: 6,
		MinUp: 2500 * time.Millisecond, MaxUp: 5 * time.Second}, gc)
	gc.mu.Lock()
	defer gc.mu.Unlock()
	for name, s := range gc.seen {
		t.Logf("%s: best %d, total %d reported; %d points seen collected", name, s.Best, s.Total, gc.collected[name])
	}
}

const (
	chaosSession = "chaos"
	chaosPrefix  = "chaos-bot-"
)

type globeChaos struct {
	slack int

	mu        sync.Mutex
	seen      map[string]Score // highest best and total reported per name
	decreases []string         // samples that went backwards
	collected map[string]int   // points the bots saw themselves collect, per name
}

// Load runs one bot (one name per worker, the same in every run, so its all-time
// total grows across restarts); worker 0 also samples the leaderboard, one request
// at a time, so each sample is at least as recent as the one before.
func (gc *globeChaos) Load(ctx context.Context, w *chaostest.Worker) error {
	var wg sync.WaitGroup
	if w.ID == 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gc.sample(ctx, w)
		}()
	}
	err := gc.play(ctx, w)
	wg.Wait()
	return err
}

func (gc *globeChaos) sample(ctx context.Context, w *chaostest.Worker) {
	client := &http.Client{Timeout: 2 * time.Second}
	for i := 0; i < 10_000 && ctx.Err() == nil; i++ {
		req, _ := http.NewRequestWithContext(ctx, "GET", w.URL+"/api/leaderboard", nil)
		resp, err := client.Do(req)
		if err == nil {
			var top []Score
			if resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&top) == nil {
				gc.record(w, top)
			}
			resp.Body.Close()
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// record checks a sample against the highest values reported so far and
// acknowledges each name's total.
func (gc *globeChaos) record(w *chaostest.Worker, top []Score) {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	for _, s := range top {
		if !strings.HasPrefix(s.Name, chaosPrefix) {
			continue
		}
		prev := gc.seen[s.Name]
		if s.Total < prev.Total || s.Best < prev.Best {
			gc.decreases = append(gc.decreases, fmt.Sprintf("%s went from best %d total %d to best %d total %d (run %d)",
				s.Name, prev.Best, prev.Total, s.Best, s.Total, w.Run))
		}
		gc.seen[s.Name] = Score{Name: s.Name, Best: max(s.Best, prev.Best), Total: max(s.Total, prev.Total)}
		if s.Total > 0 {
			w.Ack(fmt.Sprintf("%s=%d", s.Name, s.Total))
		}
	}
}

// play connects a player to the chaos session and steers it toward the nearest
// collectible, at most 10 inputs a second (the limit is 30).
func (gc *globeChaos) play(ctx context.Context, w *chaostest.Worker) error {
	name := fmt.Sprintf("%s%d", chaosPrefix, w.ID)
	// The same token in every run: the same leaderboard entry (it is keyed by player id).
	conn, _, err := objecttest.DialParty(ctx, w.URL, "globe", chaosSession,
		fmt.Sprintf("_pk=%s-r%d&name=%s&token=chaos-bot-token-%04d", name, w.Run, name, w.ID))
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	type item struct{ lat, lng float64 }
	var (
		me         int
		lat, lng   float64
		score      int
		items      = map[int]item{}
		lastInput  time.Time
		lastTarget = -1
	)
	for i := 0; i < 100_000 && ctx.Err() == nil; i++ {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := conn.ReadMessage()
		if err != nil {
			return nil // killed, or ctx ended
		}
		var f struct {
			Type    string
			You     int
			Players []WirePlayer
			Items   []WireItem
			P       [][4]float64
			S       [][2]int
			I       []WireItem
			T       []int
		}
		if json.Unmarshal(b, &f) != nil {
			continue
		}
		switch f.Type {
		case "welcome":
			me = f.You
		case "snapshot":
			for _, p := range f.Players {
				if p.N == me {
					lat, lng, score = p.Lat, p.Lng, p.Score
				}
			}
			for _, it := range f.Items {
				items[it.N] = item{it.Lat, it.Lng}
			}
		case "tick":
			for _, p := range f.P {
				if int(p[0]) == me {
					lat, lng = p[1], p[2]
				}
			}
			for _, s := range f.S {
				if s[0] == me && s[1] > score {
					gc.mu.Lock()
					gc.collected[name] += s[1] - score
					gc.mu.Unlock()
					score = s[1]
				}
			}
			for _, it := range f.I {
				items[it.N] = item{it.Lat, it.Lng}
			}
			for _, n := range f.T {
				delete(items, n)
			}
		default:
			continue
		}
		if me == 0 || len(items) == 0 {
			continue
		}
		target, best := -1, 1e9
		for n, it := range items {
			if dd := Distance(lat, lng, it.lat, it.lng); dd < best {
				target, best = n, dd
			}
		}
		if target == lastTarget && time.Since(lastInput) < 500*time.Millisecond || time.Since(lastInput) < 100*time.Millisecond {
			continue
		}
		it := items[target]
		lastTarget, lastInput = target, time.Now()
		conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if err := conn.WriteMessage(websocket.TextMessage,
			fmt.Appendf(nil, `{"type":"input","h":%.1f,"m":1}`, bearing(lat, lng, it.lat, it.lng))); err != nil {
			return nil
		}
	}
	return nil
}

// Check waits for the last batch (the bots left, so the session submits at once),
// then compares the leaderboard with everything reported and collected.
func (gc *globeChaos) Check(ctx context.Context, in *chaostest.CheckInput) (chaostest.Result, error) {
	var final map[string]Score
	var last string
	stable := 0
	for i := 0; i < 100 && stable < 5; i++ { // until 5 equal samples in a row (2.5 s)
		req, _ := http.NewRequestWithContext(ctx, "GET", in.URL+"/api/leaderboard", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return chaostest.Result{}, err
		}
		var top []Score
		err = json.NewDecoder(resp.Body).Decode(&top)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return chaostest.Result{}, fmt.Errorf("leaderboard: %s %v", resp.Status, err)
		}
		b, _ := json.Marshal(top)
		if string(b) == last {
			stable++
		} else {
			stable, last = 0, string(b)
		}
		final = map[string]Score{}
		for _, s := range top {
			final[s.Name] = s
		}
		time.Sleep(500 * time.Millisecond)
	}
	gc.mu.Lock()
	defer gc.mu.Unlock()
	var res chaostest.Result
	for _, d := range gc.decreases {
		res.Lost++
		res.Examples = append(res.Examples, d)
	}
	for _, op := range in.Acked {
		name, v, _ := strings.Cut(op, "=")
		var total int
		fmt.Sscan(v, &total)
		if final[name].Total < total {
			res.Lost++
			res.Examples = append(res.Examples, fmt.Sprintf("%s reported, final total %d", op, final[name].Total))
		}
	}
	for name, s := range gc.seen {
		if f := final[name]; f.Best < s.Best {
			res.Lost++
			res.Examples = append(res.Examples, fmt.Sprintf("%s: best %d reported, final %d", name, s.Best, f.Best))
		}
	}
	for name, s := range final {
		if !strings.HasPrefix(name, chaosPrefix) {
			continue
		}
		if over := s.Total - gc.collected[name] - gc.slack; over > 0 {
			res.Duplicated += over
			res.Examples = append(res.Examples, fmt.Sprintf("%s: total %d, %d points seen collected", name, s.Total, gc.collected[name]))
		}
	}
	if len(res.Examples) > 10 {
		res.Examples = res.Examples[:10]
	}
	return res, nil
}
