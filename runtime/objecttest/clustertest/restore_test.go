package clustertest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/admin"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

const adminToken = "0123456789abcdef0123"

// tally is counter with a WebSocket: a message is answered with the hits so far.
type tally struct{ counter }

func (c *tally) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	n, _, err := object.GetJSON[int](c.st.Storage(), "hits")
	if err != nil {
		return err
	}
	return ws.SendText(strconv.Itoa(n))
}

func tallyApp(dir string) (http.Handler, error) {
	app := server.App{Name: "tally", Setup: func(rt *object.Runtime, s *server.Server) error {
		ns, err := object.Register(rt, "tally", func(ctx context.Context, st *object.State) (*tally, error) {
			return &tally{counter{st: st}}, nil
		})
		if err != nil {
			return err
		}
		return s.Mount(ns)
	}}
	app.Server.Admin = admin.Config{Token: adminToken}
	return server.Open(app, dir)
}

// Point-in-time recovery on a cluster of app nodes (issue 21), through the admin API
// as the warren CLI uses it: a bookmark taken on one node, the restore asked of
// another (and sent to the object's owner), a WebSocket connected through a third is
// closed with 4409, and the object answers from the restored state on every node; the
// undo bookmark restores what was replaced.
func TestRestoreBookmarkThroughAnyNode(t *testing.T) {
	c := Start(t, tallyApp, 3)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := func(i int) *admin.Client { return &admin.Client{BaseURL: c.Nodes[i].URL, Token: adminToken} }
	url := func(i int) string { return c.Nodes[i].URL + "/parties/tally/one" }
	hits(t, url(0))
	bm, err := client(2).Bookmark(ctx, "tally", "one", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	hits(t, url(1))
	if got := hits(t, url(1)); got != 3 {
		t.Fatalf("hits %d, want 3", got)
	}
	ws := c.Nodes[2].DialParty("tally", "one", "")
	if err := ws.WriteMessage(websocket.TextMessage, []byte("?")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := ws.ReadMessage(); err != nil || string(b) != "3" {
		t.Fatalf("socket answered %q, %v", b, err)
	}
	closed := make(chan error, 1)
	go func() {
		ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, _, err := ws.ReadMessage()
		closed <- err
	}()
	res, err := client(1).RestoreBookmark(ctx, "tally", "one", bm.Bookmark)
	if err != nil {
		t.Fatal(err)
	}
	var ce *websocket.CloseError
	if err := <-closed; !errors.As(err, &ce) || ce.Code != object.CloseObjectRestored {
		t.Fatalf("the socket after the restore: %v, want close %d", err, object.CloseObjectRestored)
	}
	for i := range c.Nodes {
		if got := hits(t, url(i)); got != 2+i {
			t.Fatalf("hit %d after the restore to hit 1, via node %d: %d", i+1, i+1, got)
		}
	}
	if _, err := client(0).RestoreBookmark(ctx, "tally", "one", res.Undo); err != nil {
		t.Fatal(err)
	}
	if got := hits(t, url(2)); got != 4 {
		t.Fatalf("after the undo: hits %d, want 4 (3 before the restore)", got)
	}
	var list struct{ Error string }
	req, err := http.NewRequest("GET", c.Nodes[0].URL+admin.Prefix+"api/objects/tally", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented {
		t.Fatalf("listing in cluster mode: %d %q, want 501", resp.StatusCode, list.Error)
	}
}
