package main

import "github.com/warrenhq/warren/runtime/object"

// Close codes of a template client's refused frames (see refuse).
const (
	CloseInvalid     = 4400 // a frame that cannot be read, or a bad token
	CloseRateLimited = 4429 // a rate-limited frame that is not an add or update
)

// refusedFrame tells a template client that one of its messages was not sent: an
// update of that message (the only frame besides add and all its client reads),
// whose content says why; error carries the chat:error fields for anyone who reads
// them.
type refusedFrame struct {
	Type    string      `json:"type"`
	ID      string      `json:"id"`
	Content string      `json:"content"`
	User    string      `json:"user"`
	Role    string      `json:"role"`
	Error   *FrameError `json:"error"`
}

// notSent prefixes the content of a refusedFrame.
const notSent = "⚠ Not sent: "

// refuse tells the client of ws why its frame f was refused, in a form it
// understands: nothing a client sends is dropped without a word. An extended client
// (proto=1) gets a chat:error frame. A template client reads only all, add and
// update: a refused add or update comes back to it alone as an update of that
// message saying it was not sent and why (its optimistic copy does not stay as if
// sent); any other refused frame closes its socket, with 4429 when it was rate
// limited and 4400 otherwise, the error in the close reason.
func (r *Room) refuse(ws *object.WebSocket, p peer, f ClientFrame, fe *FrameError) error {
	if p.Ext {
		send(ws, map[string]any{"type": TypeError, "code": fe.Code, "message": fe.Message, "id": fe.ID, "retryAfter": fe.RetryAfter})
		return nil
	}
	if fe.ID != "" && (f.Type == TypeAdd || f.Type == TypeUpdate || f.Type == "") {
		role := f.Role
		if role == "" {
			role = "user"
		}
		send(ws, refusedFrame{Type: TypeUpdate, ID: fe.ID, Content: notSent + fe.Message, User: f.User, Role: role, Error: fe})
		return nil
	}
	code := CloseInvalid
	if fe.Code == ErrRateLimited {
		code = CloseRateLimited
	}
	return ws.Close(code, truncate(fe.Code+": "+fe.Message, 123))
}
