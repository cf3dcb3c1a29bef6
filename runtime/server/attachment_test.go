package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// marker keeps a per-socket value in the attachment: OnConnect sets it from ?a=,
// "get" answers it, "set:X" replaces it, "setfail:X" replaces it and fails the turn.
type marker struct{ st *object.State }

func (m *marker) OnConnect(ctx context.Context, ws *object.WebSocket, r *http.Request) error {
	return ws.SetAttachment([]byte(r.URL.Query().Get("a")))
}

func (m *marker) OnMessage(ctx context.Context, ws *object.WebSocket, msg object.Message) error {
	s := msg.Text()
	switch {
	case s == "get":
		return ws.SendText(string(ws.Attachment()))
	case strings.HasPrefix(s, "set:"):
		return ws.SetAttachment([]byte(strings.TrimPrefix(s, "set:")))
	case strings.HasPrefix(s, "setfail:"):
		ws.SetAttachment([]byte(strings.TrimPrefix(s, "setfail:")))
		return errors.New("deliberate failure")
	}
	return nil
}

// TestAttachmentVisibleToLaterTurnsOfABatch: turns that queue up run in one batch
// (group commit). An attachment set by OnConnect must be what the socket's next
// messages see even when they run in the same batch, before the commit; and a
// failed turn's attachment must be undone.
func TestAttachmentVisibleToLaterTurnsOfABatch(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	release := make(chan struct{})
	started := make(chan struct{})
	block := object.NewMethod("block", func(m *marker, ctx context.Context, _ struct{}) (bool, error) {
		close(started)
		<-release
		return true, nil
	})
	ns, err := object.Register(rt.Runtime, "marker", func(ctx context.Context, st *object.State) (*marker, error) { return &marker{st}, nil }, object.Methods(block))
	if err != nil {
		t.Fatal(err)
	}
	addr := serveEndpoints(t, rt, ns)

	// Hold the object's runner in a turn, so that the connect event and the messages
	// behind it queue up and then run as one batch.
	blocked := make(chan error, 1)
	go func() { _, err := block.Call(context.Background(), ns.GetByName("m"), struct{}{}); blocked <- err }()
	<-started
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/parties/marker/m?a=ro", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, m := range []string{"get", "setfail:rw", "get", "set:two", "get"} {
		send(t, c, m)
	}
	close(release)
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"ro", "ro", "two"} {
		if got := recv(t, c); got != want {
			t.Errorf("get #%d in the batch = %q, want %q", i+1, got, want)
		}
	}
	// After the commit, a later batch sees the committed value.
	if got := roundTrip(t, c, "get"); got != "two" {
		t.Errorf("get after the batch = %q, want two", got)
	}
	if st := rt.Stats(); st.MaxBatch < 2 {
		t.Errorf("the events did not share a batch (largest batch %d): the test proves nothing", st.MaxBatch)
	}
}
