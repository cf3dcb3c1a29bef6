// Command websocket-echo is the seed's WebSocketServer in Go: every message is echoed
// back with the number of sockets connected to the object. Sockets hibernate: the
// object is evicted after 10 s without events and rebuilt by the next message.
//
//	go run ./examples/websocket-echo -addr 127.0.0.1:8080
//	websocat 'ws://127.0.0.1:8080/parties/echo/lobby?_pk=me'
package main

import (
	"context"
	"fmt"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// Echo is one room of echoing sockets.
type Echo struct{ st *object.State }

// OnMessage answers every message on the socket it came from.
func (e *Echo) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	return ws.SendText(fmt.Sprintf("[Warren object] message: %s, connections: %d", m.Data, len(e.st.WebSockets(""))))
}

func main() { server.Main(app()) }

// app is the binary, for main and tests.
func app() server.App {
	return server.App{
		Name: "websocket-echo",
		Addr: "127.0.0.1:8080",
		Setup: func(rt *object.Runtime, s *server.Server) error {
			ns, err := object.Register(rt, "echo", func(ctx context.Context, st *object.State) (*Echo, error) {
				return &Echo{st: st}, nil
			})
			if err != nil {
				return err
			}
			return s.Mount(ns)
		},
	}
}
