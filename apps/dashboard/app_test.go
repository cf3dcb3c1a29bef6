package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/server"
)

// startApp runs the dashboard on a free loopback port with a temporary data
// directory and returns its base URL.
func startApp(t *testing.T, cfg Config) string {
	t.Helper()
	return startAppIn(t, cfg, t.TempDir())
}

// startAppIn is startApp with its data in dir.
func startAppIn(t *testing.T, cfg Config, dir string) string {
	t.Helper()
	ready := make(chan net.Addr, 1)
	app := server.App{Name: "dashboard", Addr: "127.0.0.1:0", Assets: server.Dist(dist, "web/dist"), Setup: setup(cfg),
		Ready: func(a net.Addr) { ready <- a }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, app, []string{"-addr", "127.0.0.1:0", "-data", dir, "-log-level", "error"}, io.Discard)
	}()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("app did not start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return "http://" + addr.String()
}

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out) //nolint:errcheck
	return resp.StatusCode, out
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode
}

type queryAnswer struct {
	Res    int64              `json:"res"`
	Series map[string]*Series `json:"series"`
}

func batch(name string, n int, value func(i int) float64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":%q,"value":%g,"ts":%d}`, name, value(i), time.Now().UnixMilli())
	}
	b.WriteByte(']')
	return b.String()
}

func TestHTTPIngestAndQuery(t *testing.T) {
	base := startApp(t, Config{SelfStream: "-"})
	u := base + "/parties/stream/web"
	for range 3 {
		if code, body := post(t, u+"/events", batch("latency", 1000, func(i int) float64 { return float64(i % 100) })); code != http.StatusAccepted || body["accepted"] != 1000.0 {
			t.Fatalf("POST: %d %v", code, body)
		}
	}
	// JSON lines.
	if code, _ := post(t, u+"/events", "{\"name\":\"latency\",\"value\":5000}\n{\"name\":\"errors\",\"value\":1,\"tags\":{\"code\":\"500\"}}\n"); code != http.StatusAccepted {
		t.Fatalf("JSON lines: %d", code)
	}
	// A bad batch is rejected whole, with every problem listed.
	code, body := post(t, u+"/events", "{\"name\":\"latency\",\"value\":1}\n{\"name\":\"latency\",\"value\":\"high\"}\n")
	if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body["problems"]), `line 2: "value" must be a number`) {
		t.Fatalf("bad batch: %d %v", code, body)
	}
	var q queryAnswer
	if c := getJSON(t, u+"/query?from=-1m&res=1s", &q); c != 200 {
		t.Fatalf("query: %d", c)
	}
	var count int64
	var max float64
	for i := range q.Series["latency"].T {
		count += q.Series["latency"].Count[i]
		max = math.Max(max, q.Series["latency"].Max[i])
	}
	if count != 3001 || max != 5000 {
		t.Fatalf("latency: %d events (want 3001: the rejected batch stored nothing), max %v", count, max)
	}
	if s := q.Series[`errors{code="500"}`]; s == nil || s.Count[0] != 1 {
		t.Fatalf("tagged series: %+v", q.Series)
	}
	var info struct {
		Series []struct{ Key string }
		Errors []IngestError
	}
	getJSON(t, u, &info)
	if len(info.Series) != 2 || len(info.Errors) != 1 || info.Errors[0].Source != "http" {
		t.Fatalf("info: %+v", info)
	}
	for _, bad := range []string{"/query?from=yesterday", "/query?res=2s", "/query?from=-1s&to=-1m", "/query?from=-30h&res=1s"} {
		var e map[string]any
		if c := getJSON(t, u+bad, &e); c != http.StatusBadRequest || e["error"] == "" {
			t.Errorf("GET %s: %d %v", bad, c, e)
		}
	}
	resp, err := http.Post(u+"/events", "application/json", strings.NewReader(strings.Repeat(" ", 2<<20)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB body: %d", resp.StatusCode)
	}
}

type frame struct {
	Type   string             `json:"type"`
	Series map[string]*Series `json:"series"`
	Errors []IngestError      `json:"errors"`
	Error  json.RawMessage    `json:"error"`
	First  int64              `json:"first"`
}

func dial(t *testing.T, base, path string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, c *websocket.Conn) frame {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var f frame
	if err := c.ReadJSON(&f); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLiveViewers(t *testing.T) {
	base := startApp(t, Config{SelfStream: "-", PushRate: 4})
	u := base + "/parties/stream/live"
	post(t, u+"/events", batch("cpu", 10, func(int) float64 { return 1 }))
	// Two viewers: each gets the current window first.
	a, b := dial(t, base, "/parties/stream/live?window=60"), dial(t, base, "/parties/stream/live")
	for _, c := range []*websocket.Conn{a, b} {
		f := read(t, c)
		if f.Type != "snapshot" || f.Series["cpu"] == nil || f.Series["cpu"].Count[0] != 10 {
			t.Fatalf("snapshot: %+v", f)
		}
	}
	// 20 batches in a burst: coalesced to a few deltas carrying only the cpu buckets.
	start := time.Now()
	for range 20 {
		post(t, u+"/events", batch("cpu", 5, func(int) float64 { return 2 }))
	}
	for _, c := range []*websocket.Conn{a, b} {
		deltas, got := 0, int64(0)
		for got < 100 {
			f := read(t, c)
			if f.Type != "delta" {
				continue
			}
			deltas++
			for _, s := range []string{"cpu"} {
				if f.Series[s] == nil {
					t.Fatalf("delta without cpu: %+v", f)
				}
			}
			if len(f.Series) != 1 || f.First == 0 {
				t.Fatalf("delta: %+v", f)
			}
			// Each delta carries the full current value of the buckets that changed.
			var sum int64
			for i, ts := range f.Series["cpu"].T {
				if ts >= start.Unix() {
					sum += f.Series["cpu"].Count[i]
				}
			}
			got = max(got, sum)
		}
		if limit := int(time.Since(start).Seconds()*4) + 2; deltas > limit {
			t.Errorf("%d deltas in %v: more than 4 per second", deltas, time.Since(start))
		}
	}
	// A WebSocket ingest socket gets acks and no pushes.
	in := dial(t, base, "/parties/stream/live?mode=ingest")
	in.WriteMessage(websocket.TextMessage, []byte(`{"name":"cpu","value":3}`))
	if f := read(t, in); f.Type != "ack" {
		t.Fatalf("ack: %+v", f)
	}
	in.WriteMessage(websocket.TextMessage, []byte(`{"name":"cpu"}`))
	if f := read(t, in); f.Type != "error" {
		t.Fatalf("error frame: %+v", f)
	}
	// Viewers see the rejected batch.
	for _, c := range []*websocket.Conn{a, b} {
		for {
			f := read(t, c)
			if f.Type == "ingest-error" {
				if !strings.Contains(string(f.Error), `\"value\" is missing`) {
					t.Fatalf("ingest error: %s", f.Error)
				}
				break
			}
		}
	}
}

func TestSelfStream(t *testing.T) {
	base := startApp(t, Config{SelfEvery: 200 * time.Millisecond})
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/s/warren" {
		t.Errorf("/ went to %s", resp.Request.URL.Path)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var q queryAnswer
		getJSON(t, base+"/parties/stream/warren/query?from=-1m", &q)
		if q.Series["turns/s"] != nil && q.Series["objects"] != nil && q.Series["sockets"] != nil && q.Series["messages/s"] != nil {
			if q.Series["objects"].Max[len(q.Series["objects"].Max)-1] < 1 {
				t.Fatalf("objects: %+v", q.Series["objects"])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("self stream series: %v", q.Series)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestPoll(t *testing.T) {
	var n atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := n.Add(1)
		fmt.Fprintf(w, "# TYPE reqs_total counter\nreqs_total %d\n# TYPE temp gauge\ntemp{room=\"a\"} 21.5\n", v*10)
	}))
	defer target.Close()
	base := startApp(t, Config{SelfStream: "-", Polls: map[string]PollConfig{"polled": {URL: target.URL + "/metrics", Every: "1s"}}})
	u := base + "/parties/stream/polled"
	deadline := time.Now().Add(15 * time.Second)
	for {
		var q queryAnswer
		getJSON(t, u+"/query?from=-1m", &q)
		if r := q.Series["rate(reqs_total)"]; r != nil && q.Series[`temp{room="a"}`] != nil {
			if v := r.Max[0]; v < 5 || v > 20 {
				t.Errorf("rate = %v, want about 10/s", v)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("polled series: %v", q.Series)
		}
		time.Sleep(200 * time.Millisecond)
	}
	target.Close()
	// A failing poll shows as an ingest error.
	deadline = time.Now().Add(15 * time.Second)
	for {
		var info struct{ Errors []IngestError }
		getJSON(t, u, &info)
		if len(info.Errors) > 0 && info.Errors[0].Source == "poll" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no poll error recorded")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
