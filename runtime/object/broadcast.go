package object

import (
	"encoding/json"
	"fmt"
)

// Broadcast sends m to every open socket of the object except those in except, after
// the turn commits (never if it fails). It returns the number of sockets addressed.
// A socket whose queue overflows is closed; the others are not affected.
func (st *State) Broadcast(m Message, except ...*WebSocket) int {
	return st.broadcast("", m, except)
}

// BroadcastTag is Broadcast to the sockets with tag (set in OnConnect) only.
func (st *State) BroadcastTag(tag string, m Message, except ...*WebSocket) int {
	if tag == "" {
		return 0
	}
	return st.broadcast(tag, m, except)
}

// BroadcastText is Broadcast(TextMessage(s), except...).
func (st *State) BroadcastText(s string, except ...*WebSocket) int {
	return st.Broadcast(TextMessage(s), except...)
}

// BroadcastJSON is Broadcast of v, JSON-encoded once, as a text message.
func (st *State) BroadcastJSON(v any, except ...*WebSocket) (int, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("object: encode message: %w", err)
	}
	return st.Broadcast(Message{Data: b}, except...), nil
}

// broadcast queues m for the sockets with tag (all when tag is empty) but except.
func (st *State) broadcast(tag string, m Message, except []*WebSocket) int {
	if !st.inTurn {
		panic("object: Broadcast called outside a turn")
	}
	all := st.WebSockets(tag)
	to := all[:0]
outer:
	for _, ws := range all {
		for _, x := range except {
			if x == ws {
				continue outer
			}
		}
		to = append(to, ws)
	}
	if len(to) == 0 {
		return 0
	}
	// One copy and one wire encoding for every socket.
	st.outbox = append(st.outbox, output{frame: newFrame(m), to: to})
	return len(to)
}
