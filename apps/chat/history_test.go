package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// readHistory reads the "all" frame and then every older page, calling f for each
// message. A page refused because the socket's catch-up budget is spent (chat:error
// rate_limited) is asked for again after wait(retryAfter), as the web client does;
// any other chat:error ends it with that error.
func readHistory(conn *websocket.Conn, f func(Message), wait func(time.Duration)) error {
	type page struct {
		Type       string
		Messages   []Message
		HasMore    bool
		Code       string
		Message    string
		RetryAfter int64
	}
	next := func(typ string) (page, error) {
		for range 100 {
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			var p page
			if err := conn.ReadJSON(&p); err != nil {
				return p, err
			}
			if p.Type == typ || p.Type == TypeError {
				return p, nil
			}
		}
		return page{}, fmt.Errorf("no %s frame", typ)
	}
	p, err := next(TypeAll)
	for pages, refusals := 0, 0; err == nil; pages++ {
		if pages > 10_000 {
			return fmt.Errorf("more than 10000 history pages")
		}
		if p.Type == TypeError {
			return fmt.Errorf("chat:error %s: %s", p.Code, p.Message)
		}
		before := int64(0)
		for _, m := range p.Messages {
			f(m)
			if before == 0 || m.Seq < before {
				before = m.Seq
			}
		}
		if !p.HasMore || before <= 1 {
			return nil
		}
		for {
			if err := conn.WriteJSON(map[string]any{"type": TypeHistory, "before": before, "limit": MaxPage}); err != nil {
				return err
			}
			if p, err = next(TypeHistory); err != nil || p.Code != ErrRateLimited || p.RetryAfter <= 0 {
				break
			}
			if refusals++; refusals > 10_000 {
				return fmt.Errorf("history page refused %d times: %s", refusals, p.Message)
			}
			wait(time.Duration(p.RetryAfter) * time.Millisecond)
		}
	}
	return err
}

// TestReadHistoryWaitsForTheCatchupBudget: the chaos checker reads a room's whole
// history through one socket, whose pages come out of the catch-up budget. With
// 10 kills the chaos rooms held more than CatchupBurst of messages, the server
// refused a page (chat:error rate_limited, retryAfter 58 ms) and the checker, which
// skipped every frame but the page it asked for, failed with "check: room chaos-0:
// i/o timeout" 10 s later. Now it waits and asks again; every message is read once.
func TestReadHistoryWaitsForTheCatchupBudget(t *testing.T) {
	ts := newTestServer(t, unlimited)
	const n = 40 // about 1 MB encoded: twice CatchupBurst
	fillRoom(t, ts, "big", n)
	c := ts.dial("big", "checker", "proto=1&token=checker-secret-token-1")
	seen := map[string]int{}
	var waited time.Duration
	err := readHistory(c.conn, func(m Message) { seen[m.ID]++ }, func(d time.Duration) {
		waited += d
		ts.rt.Clock.Advance(d)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if id := fmt.Sprintf("h%d", i); seen[id] != 1 {
			t.Errorf("message %s read %d times", id, seen[id])
		}
	}
	if len(seen) != n || waited == 0 {
		t.Fatalf("%d messages read, %v waited for the budget; want %d and a wait", len(seen), waited, n)
	}
}
