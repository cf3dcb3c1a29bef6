package scenario

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/loadtest/internal/engine"
)

// fakeDashboard accepts batches with 202 and pushes a delta to every viewer
// of the stream 4 times a second, with "first" the oldest pending event ts.
func fakeDashboard(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	viewers := map[*websocket.Conn]bool{}
	var first int64
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/events") {
			b, _ := io.ReadAll(r.Body)
			if !strings.HasPrefix(string(b), `[{"name":"lt_m0"`) {
				http.Error(w, "bad", 400)
				return
			}
			mu.Lock()
			if first == 0 {
				first = time.Now().UnixMilli()
			}
			mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
			return
		}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		mu.Lock()
		c.WriteMessage(websocket.TextMessage, []byte(`{"type":"snapshot","series":{}}`))
		viewers[c] = true
		mu.Unlock()
	}))
	stop := make(chan struct{})
	go func() {
		tk := time.NewTicker(250 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			mu.Lock()
			if first != 0 {
				msg := fmt.Sprintf(`{"type":"delta","series":{"lt_m0":{"t":[1]}},"first":%d}`, first)
				for c := range viewers {
					c.WriteMessage(websocket.TextMessage, []byte(msg))
				}
				first = 0
			}
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		close(stop)
		srv.Close()
		mu.Lock()
		for c := range viewers {
			c.Close()
		}
		mu.Unlock()
	})
	return srv
}

func TestDashboardRunner(t *testing.T) {
	srv := fakeDashboard(t)
	sc, err := Lookup("dashboard")
	if err != nil || sc.Run == nil {
		t.Fatalf("dashboard scenario: %v", err)
	}
	c := engine.Config{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/parties/stream/{room}?_pk={conn}",
		Conns: 6, Rooms: 2, Senders: 1, Rate: 20, Size: 128, Duration: 2 * time.Second, Drain: 500 * time.Millisecond}
	if err := sc.Configure(&c); err != nil || c.Size != 1000 {
		t.Fatalf("Configure: %v, size %d", err, c.Size)
	}
	c.Size = 10
	res, err := sc.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Connections.Established != 6 || len(res.Errors) != 0 {
		t.Fatalf("connections %+v, errors %v", res.Connections, res.Errors)
	}
	if res.Messages.Sent < 2*20*10 || res.Messages.SentPerS < 100 {
		t.Errorf("sent %d events (%.0f/s)", res.Messages.Sent, res.Messages.SentPerS)
	}
	if res.Latency.Count == 0 || res.Latency.P99 > 2000 {
		t.Errorf("ingest-to-screen latency %+v", res.Latency)
	}
	if per := res.Config["events_per_s_per_stream"].([]float64); len(per) != 2 || per[0] == 0 {
		t.Errorf("per stream %v", per)
	}
}
