package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Club lets in only holders of a ticket, tags each socket with its table, and
// relays casts to one table or to everyone.
type Club struct {
	st      *object.State
	refused int
}

type seat struct{ Table string }

func (c *Club) OnBeforeConnect(ctx context.Context, r *http.Request) error {
	switch r.URL.Query().Get("ticket") {
	case "":
		c.refused++ // application errors keep the turn: the count survives
		return object.NewError("unauthorized", "a ticket is required").WithStatus(http.StatusUnauthorized)
	case "banned":
		return object.NewError("forbidden", "banned").WithStatus(http.StatusForbidden)
	}
	return nil
}

func (c *Club) OnConnect(ctx context.Context, ws *object.WebSocket, r *http.Request) error {
	table := r.URL.Query().Get("table")
	if err := ws.SetTags(table); err != nil {
		return err
	}
	return ws.SetAttachmentJSON(seat{Table: table})
}

func (c *Club) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	s, err := object.AttachmentOf[seat](ws)
	if err != nil {
		return err
	}
	if m.Text() == "all" {
		_, err := c.st.BroadcastJSON(map[string]any{"to": "all", "from": s.Table, "refused": c.refused})
		return err
	}
	c.st.BroadcastTag(s.Table, object.TextMessage("to "+s.Table))
	return nil
}

// TestBeforeConnectRefusesWithStatus pins issue 15 (connect hooks): an object could
// refuse a socket only after the upgrade, with a close code. Now OnBeforeConnect runs
// as a turn before the upgrade, and its application error refuses with its HTTP
// status (401, 403), no upgrade done. The same test covers BroadcastTag (only the
// tagged sockets receive), BroadcastJSON and AttachmentOf (typed socket state).
func TestBeforeConnectRefusesWithStatus(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	ns, err := object.Register(rt.Runtime, "club", func(ctx context.Context, st *object.State) (*Club, error) { return &Club{st: st}, nil })
	if err != nil {
		t.Fatal(err)
	}
	addr := serveEndpoints(t, rt, ns)
	for _, c := range []struct {
		query  string
		status int
	}{{"", http.StatusUnauthorized}, {"?ticket=banned", http.StatusForbidden}} {
		conn, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/parties/club/c"+c.query, nil)
		if err == nil {
			conn.Close()
			t.Fatalf("%q: upgraded, want %d before the upgrade", c.query, c.status)
		}
		if resp == nil || resp.StatusCode != c.status {
			t.Fatalf("%q: %v %v, want status %d", c.query, resp, err, c.status)
		}
	}
	dial := func(table string) *websocket.Conn {
		conn, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/parties/club/c?ticket=ok&table="+table, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	red, blue := dial("red"), dial("blue")
	read := func(c *websocket.Conn) string {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// A socket's OnConnect may still be queued when its dial returns: blue's own cast
	// shows it was accepted before red broadcasts.
	if err := blue.WriteMessage(websocket.TextMessage, []byte("table")); err != nil {
		t.Fatal(err)
	}
	if got := read(blue); got != "to blue" {
		t.Fatalf("blue got %q", got)
	}
	if err := red.WriteMessage(websocket.TextMessage, []byte("table")); err != nil {
		t.Fatal(err)
	}
	if got := read(red); got != "to red" {
		t.Fatalf("red got %q", got)
	}
	if err := red.WriteMessage(websocket.TextMessage, []byte("all")); err != nil {
		t.Fatal(err)
	}
	want := `{"from":"red","refused":1,"to":"all"}`
	if got := read(red); got != want {
		t.Fatalf("red got %q, want %s", got, want)
	}
	// blue's next message is the broadcast to all: red's table cast skipped it.
	if got := read(blue); got != want {
		t.Fatalf("blue got %q, want %s (and never the red table's cast)", got, want)
	}
}
