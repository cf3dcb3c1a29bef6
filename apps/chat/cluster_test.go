package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/objecttest"
)

// TestClusterFailover runs the chat binary as three cluster nodes (a NATS server
// embedded in each), chats through every node as entry, kills the room's owner with
// SIGKILL, reconnects the clients through the surviving nodes and checks that every
// message the cluster acknowledged (its "add" came back) is in the history, and
// that chatting goes on.
func TestClusterFailover(t *testing.T) {
	for _, k := range []string{"BURST", "RATE", "ADDR_BURST", "ADDR_RATE", "ROOM_BURST", "ROOM_RATE"} {
		t.Setenv("WARREN_CHAT_"+k, "1000000")
	}
	bin := objecttest.BuildBinary(t, ".")
	nodes := objecttest.StartCluster(t, bin, 3, "-log-level", "warn")
	const room = "cluster-e2e"
	users := []string{"alice", "bob", "carol"}
	acked := map[string]bool{}
	var clients []*chatClient
	for i, u := range users { // alice enters through n1, bob n2, carol n3
		clients = append(clients, dialChat(t, nodes[i].URL, room, u))
	}
	// Each sends through its own entry node; everyone sees everyone's messages.
	chatRound(t, clients, "before", acked)
	owner := -1
	for i, n := range nodes {
		if v, _ := n.Metric("warren_sockets_open"); v == 3 {
			owner = i
		}
	}
	if owner < 0 {
		t.Fatalf("no node holds the room's 3 sockets")
	}
	t.Logf("room owned by n%d; killing it", owner+1)
	killed := time.Now()
	nodes[owner].Kill()
	for _, c := range clients {
		c.waitClosed(t)
	}
	// Reconnect every client through a surviving node other than the one it used.
	var live []*objecttest.Server
	for i, n := range nodes {
		if i != owner {
			live = append(live, n)
		}
	}
	for i, u := range users {
		clients[i] = dialChatRetry(t, live[(i+1)%len(live)].URL, room, u, 90*time.Second)
	}
	t.Logf("reconnected %v after the kill", time.Since(killed).Round(100*time.Millisecond))
	// Every acknowledged message survived; chatting goes on through the survivors.
	for id := range acked {
		if !clients[0].has(id) {
			t.Errorf("acknowledged message %s lost after failover", id)
		}
	}
	chatRound(t, clients, "after", acked)
	history := dialChatRetry(t, live[0].URL, room, "checker", 30*time.Second)
	for id := range acked {
		if !history.has(id) {
			t.Errorf("message %s missing from the history", id)
		}
	}
	if len(acked) != 2*len(users)*chatRoundMessages {
		t.Fatalf("%d messages acknowledged, want %d", len(acked), 2*len(users)*chatRoundMessages)
	}
}

const chatRoundMessages = 5

// chatRound has every client send chatRoundMessages messages and waits until every
// client saw every one of them; it records their ids in acked.
func chatRound(t *testing.T, clients []*chatClient, round string, acked map[string]bool) {
	t.Helper()
	var ids []string
	for _, c := range clients {
		for i := range chatRoundMessages {
			id := fmt.Sprintf("%s-%s-%d", round, c.user, i)
			c.send(t, id)
			ids = append(ids, id)
		}
	}
	for _, c := range clients {
		for _, id := range ids {
			c.waitFor(t, id)
		}
	}
	for _, id := range ids {
		acked[id] = true
	}
}

// chatClient is one WebSocket of the chat protocol: it records every message id it
// has seen (history and adds).
type chatClient struct {
	user   string
	conn   *websocket.Conn
	mu     sync.Mutex
	seen   map[string]bool
	change chan struct{}
	closed chan struct{}
}

func dialChat(t *testing.T, base, room, user string) *chatClient {
	t.Helper()
	c, err := tryDialChat(base, room, user)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func dialChatRetry(t *testing.T, base, room, user string, within time.Duration) *chatClient {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := tryDialChat(base, room, user)
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s could not reconnect through %s within %v: %v", user, base, within, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tryDialChat(base, room, user string) (*chatClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := objecttest.DialParty(ctx, base, "chat", room, "proto=1&token="+user+"-secret-token-0123")
	if err != nil {
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			err = fmt.Errorf("%w (%s: %s)", err, resp.Status, strings.TrimSpace(string(b)))
		}
		return nil, err
	}
	c := &chatClient{user: user, conn: conn, seen: map[string]bool{}, change: make(chan struct{}, 1), closed: make(chan struct{})}
	go c.read()
	// The history ("all" and its pages) arrives first: wait for the "all" frame.
	select {
	case <-c.change:
	case <-c.closed:
		return nil, fmt.Errorf("closed before the history")
	case <-time.After(10 * time.Second):
		conn.Close()
		return nil, fmt.Errorf("no history frame")
	}
	return c, nil
}

func (c *chatClient) read() {
	defer close(c.closed)
	for {
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		var f struct {
			Type     string
			ID       string
			Messages []Message
		}
		if json.Unmarshal(b, &f) != nil {
			continue
		}
		c.mu.Lock()
		switch f.Type {
		case TypeAll, TypeAdd:
			if f.Type == TypeAdd {
				c.seen[f.ID] = true
			}
			for _, m := range f.Messages {
				c.seen[m.ID] = true
			}
		}
		c.mu.Unlock()
		if f.Type == TypeAll || f.Type == TypeAdd {
			select {
			case c.change <- struct{}{}:
			default:
			}
		}
	}
}

func (c *chatClient) send(t *testing.T, id string) {
	t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := c.conn.WriteJSON(map[string]any{"type": TypeAdd, "id": id, "content": "hello " + id, "user": c.user}); err != nil {
		t.Fatal(err)
	}
}

func (c *chatClient) has(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[id]
}

func (c *chatClient) waitFor(t *testing.T, id string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for !c.has(id) {
		select {
		case <-c.change:
		case <-c.closed:
			t.Fatalf("%s's socket closed before it saw %s", c.user, id)
		case <-deadline:
			t.Fatalf("%s did not see %s", c.user, id)
		}
	}
}

// waitClosed waits for the socket to end (its node or the owner behind it died).
func (c *chatClient) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-c.closed:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s's socket still open a minute after its room's owner was killed", c.user)
	}
	c.conn.Close()
}
