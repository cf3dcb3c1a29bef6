package guide_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
	"github.com/warrenhq/warren/runtime/server"
)

// Room is a chat room: one object per room name, reachable at
// /parties/room/<name>?_pk=<connection id> once the server mounts its namespace
// (the path PartySocket clients use). The runtime owns the sockets: they stay
// connected while the object is evicted (hibernation), with their tags and
// attachment, and the next message rebuilds the object.
type Room struct{ st *object.State }

type member struct{ Name string }

// OnConnect runs when a socket is accepted: tag it and attach what the object must
// remember about it across hibernation.
func (r *Room) OnConnect(ctx context.Context, ws *object.WebSocket, req *http.Request) error {
	name := req.URL.Query().Get("name")
	if err := ws.SetAttachmentJSON(member{Name: name}); err != nil {
		return err
	}
	// Answered by the runtime without a turn and without waking the object.
	if err := r.st.SetAutoResponse("ping", "pong"); err != nil {
		return err
	}
	if err := ws.SetTags("member"); err != nil {
		return err
	}
	return ws.SendText(fmt.Sprintf("welcome %s, %d here", name, len(r.st.WebSockets("member"))))
}

// OnMessage relays a message to every other member. Sends are held until the turn
// commits, like every other output.
func (r *Room) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	who, err := object.AttachmentOf[member](ws)
	if err != nil {
		return err
	}
	r.st.BroadcastText(who.Name+": "+string(m.Data), ws)
	return nil
}

// OnClose runs once per socket, whoever closed it.
func (r *Room) OnClose(ctx context.Context, ws *object.WebSocket, code int, reason string, clean bool) error {
	return nil
}

func Example_sockets() {
	dir, _ := os.MkdirTemp("", "warren-guide")
	defer os.RemoveAll(dir)
	rt, err := object.New(object.Config{DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	rooms, err := object.Register(rt, "room", func(ctx context.Context, st *object.State) (*Room, error) {
		return &Room{st: st}, nil
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := server.New(rt, server.Config{})
	if err := srv.Mount(rooms); err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Shutdown(context.Background())

	dial := func(name string) *websocket.Conn {
		u := objecttest.PartyURL(ts.URL, "room", "lobby", "_pk="+name+"&name="+name)
		c, _, err := websocket.DefaultDialer.Dial(u, nil)
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	read := func(c *websocket.Conn) string {
		_, b, err := c.ReadMessage()
		if err != nil {
			log.Fatal(err)
		}
		return string(b)
	}
	ann := dial("ann")
	defer ann.Close()
	fmt.Println(read(ann)) // the connect turn has run: the auto-response is set
	bob := dial("bob")
	defer bob.Close()
	fmt.Println(read(bob))

	ann.WriteMessage(websocket.TextMessage, []byte("ping"))
	fmt.Println(read(ann))
	ann.WriteMessage(websocket.TextMessage, []byte("hi bob"))
	fmt.Println(read(bob))
	// Output:
	// welcome ann, 1 here
	// welcome bob, 2 here
	// pong
	// ann: hi bob
}
