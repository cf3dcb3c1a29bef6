package objecttest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

func TestPartyURL(t *testing.T) {
	for _, c := range []struct{ base, ns, name, query, want string }{
		{"http://127.0.0.1:1", "chat", "lobby", "", "ws://127.0.0.1:1/parties/chat/lobby"},
		{"https://h", "chat", "lobby", "_pk=a&x=1", "wss://h/parties/chat/lobby?_pk=a&x=1"},
		{"ws://h/", "doc", "a/b c?%", "", "ws://h/parties/doc/a%2Fb%20c%3F%25"},
	} {
		if got := PartyURL(c.base, c.ns, c.name, c.query); got != c.want {
			t.Errorf("PartyURL(%q, %q, %q, %q) = %q, want %q", c.base, c.ns, c.name, c.query, got, c.want)
		}
	}
}

// echo answers every message with the object's name and the message.
type echo struct{ name string }

func (e *echo) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	return ws.SendText(e.name + ":" + string(m.Data))
}

// echoApp is a Warren app of echo objects, closed with its runtime.
type echoApp struct {
	*server.Server
	rt *object.Runtime
}

func (a echoApp) Close() error { return a.rt.Close() }

// A name that needs escaping reaches its object unchanged through a real server.
func TestServerDialParty(t *testing.T) {
	s := ServeApp(t, func(dir string) (http.Handler, error) {
		rt, err := object.New(object.Config{DataDir: dir})
		if err != nil {
			return nil, err
		}
		ns, err := object.Register(rt, "echo", func(ctx context.Context, st *object.State) (*echo, error) {
			name, _ := st.ID().Name()
			return &echo{name: name}, nil
		})
		if err != nil {
			return nil, err
		}
		srv := server.New(rt, server.Config{})
		if err := srv.Mount(ns); err != nil {
			return nil, err
		}
		return echoApp{srv, rt}, nil
	})
	c := s.DialParty("echo", "a/b c?%", "_pk=alice")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := c.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	_, b, err := c.ReadMessage()
	if err != nil || string(b) != "a/b c?%:hi" {
		t.Fatalf("read %q, %v; want %q", b, err, "a/b c?%:hi")
	}
}
