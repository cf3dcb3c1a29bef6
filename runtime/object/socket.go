package object

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warrenhq/warren/runtime/internal/wshost"
)

// WebSocket close codes the runtime uses. Codes 4000-4999 are free for applications.
const (
	CloseNormal          = 1000 // normal closure
	CloseGoingAway       = 1001 // the peer is going away
	CloseProtocolError   = 1002 // the peer broke the WebSocket protocol
	CloseNoStatus        = 1005 // a close frame without a code was received
	CloseAbnormal        = 1006 // the connection dropped without a close frame (or pings went unanswered)
	ClosePolicyViolation = 1008 // rejected: origin, or a handler refused the socket without a code
	CloseMessageTooBig   = 1009 // a received message was over the size limit
	CloseInternalError   = 1011 // OnConnect failed with an error that is not a *CloseError
	CloseServiceRestart  = 1012 // the process is shutting down; reconnect
	CloseTryAgainLater   = 1013 // the send queue overflowed (slow consumer), or a message could not be delivered (the object is overloaded or its commit failed): reconnect and resend
)

// maxTagLen bounds one tag, as in Durable Objects.
const maxTagLen = 256

// Message is one WebSocket message: text (UTF-8) or binary.
type Message struct {
	Binary bool
	Data   []byte
}

// Text returns the message's data as a string.
func (m Message) Text() string { return string(m.Data) }

// TextMessage returns a text message.
func TextMessage(s string) Message { return Message{Data: []byte(s)} }

// BinaryMessage returns a binary message.
func BinaryMessage(b []byte) Message { return Message{Binary: true, Data: b} }

// CloseError is returned by OnConnect to refuse a socket with a specific close code
// (e.g. 4001 "unauthorized").
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string { return fmt.Sprintf("websocket closed: %d %s", e.Code, e.Reason) }

// Handler interfaces an object type implements to accept WebSockets. OnMessage is
// required; the others are optional. Each call is one turn of the object: its storage
// writes commit atomically and its sends go out only after the commit. A handler's
// error rolls the turn back (and resets the instance) and is logged; the socket stays
// open, except that an error from OnConnect refuses the socket. A received message
// that cannot be delivered (the object is overloaded: SocketConfig limits, MaxQueue,
// MaxQueueDelay; its batch's commit failed; it cannot be constructed) is never
// dropped silently: its socket is closed, with CloseTryAgainLater (1013) when trying
// again can help, so that the client reconnects and sends it again. OnClose is never
// refused for load: it waits its turn, and is tried again if its turn could not run.
type (
	// BeforeConnectHandler runs as a turn of the object when a client asks for a
	// WebSocket, before the upgrade (partyserver's onBeforeConnect, a Durable Object's
	// fetch): it sees the request (headers, cookies, query) and no socket yet. An error
	// refuses the socket with the HTTP status HTTPStatus gives it (an *Error with
	// Status 401, 403, 404, ...); no upgrade happens and no other handler runs.
	BeforeConnectHandler interface {
		OnBeforeConnect(ctx context.Context, r *http.Request) error
	}
	// ConnectHandler runs when a socket has been accepted, before any of its
	// messages. Set tags and the attachment here. An error refuses the socket: it is
	// closed with the error's code when it is a *CloseError, else CloseInternalError,
	// and OnClose is not called.
	ConnectHandler interface {
		OnConnect(ctx context.Context, ws *WebSocket, r *http.Request) error
	}
	// MessageHandler receives text and binary messages, in the order each socket sent them.
	MessageHandler interface {
		OnMessage(ctx context.Context, ws *WebSocket, m Message) error
	}
	// CloseHandler runs once when an accepted socket is gone, whoever closed it.
	// code is the peer's close code, the code the object or runtime closed it with,
	// or CloseAbnormal (1006, wasClean false) when the connection dropped or stopped
	// answering pings.
	CloseHandler interface {
		OnClose(ctx context.Context, ws *WebSocket, code int, reason string, wasClean bool) error
	}
	// ErrorHandler runs before OnClose when the connection failed with an error
	// (a protocol error, a message over the size limit, a send-queue overflow).
	ErrorHandler interface {
		OnError(ctx context.Context, ws *WebSocket, err error) error
	}
)

// WebSocket is one socket connected to an object. The runtime, not the object's
// instance, owns it: it stays connected while the object is evicted (hibernation),
// with its ID, tags and attachment intact. Its methods may be called only from the
// object's own turns, except ID, Tags, LastSeen and AutoResponseTime.
type WebSocket struct {
	set *socketSet
	id  string
	t   wshost.Transport

	mu        sync.Mutex
	phase     uint8 // phaseReserved, phaseOpen, phaseClosing, phaseClosed
	accepted  bool  // OnConnect succeeded (runner-owned)
	idx       int   // index in set.socks while listed
	tags      []string
	attach    []byte // the committed attachment
	cur       []byte // while dirty: the attachment set by a turn of the open batch, not yet committed
	dirty     bool
	q         []*wshost.Frame // frames waiting for the transport to Take them
	qBytes    int
	ready     int  // the first ready frames of q may be taken; the rest are staged (stage)
	staging   bool // frames are staged, and the one who staged the first will release them
	flushing  bool // Flush was called and no Take has found the queue empty since
	closeCode int  // code the runtime or object closed with
	closeMsg  string
	closeSent bool

	lastSeen atomic.Int64 // unix nanoseconds
	lastAuto atomic.Int64
	inbound  chan struct{} // semaphore of received messages waiting for their turn
	addr     string        // the client's address (clientaddr.Key), for its share of the queue
	// dropped: an operator deleted or restored the socket's object and closed it; it
	// gets no OnClose (closeObjectSockets).
	dropped atomic.Bool
}

const (
	phaseReserved uint8 = iota
	phaseOpen
	phaseClosing
	phaseClosed
)

// ID returns the connection's ID: the client's ?_pk= parameter, or one the host generated.
func (ws *WebSocket) ID() string { return ws.id }

// Tags returns the socket's tags (a copy).
func (ws *WebSocket) Tags() []string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return append([]string(nil), ws.tags...)
}

// SetTags sets the socket's tags, which State.WebSockets filters by. It may be called
// only from OnConnect; at most SocketConfig.MaxTags tags of at most 256 bytes each.
func (ws *WebSocket) SetTags(tags ...string) error {
	if _, err := ws.turnState(); err != nil {
		return err
	}
	if ws.accepted {
		return fmt.Errorf("object: tags can be set only in OnConnect")
	}
	if max := ws.set.reg.cfg.MaxTags; len(tags) > max {
		return fmt.Errorf("%w: %d tags, at most %d", ErrTooLarge, len(tags), max)
	}
	for _, t := range tags {
		if len(t) > maxTagLen || t == "" {
			return fmt.Errorf("%w: a tag must have 1 to %d bytes", ErrTooLarge, maxTagLen)
		}
	}
	ws.mu.Lock()
	ws.tags = append([]string(nil), tags...)
	ws.mu.Unlock()
	return nil
}

// Attachment returns the socket's attachment: the value set by the last committed
// SetAttachment, or by the running turn. It survives hibernation, not a restart.
func (ws *WebSocket) Attachment() []byte {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.dirty {
		return append([]byte(nil), ws.cur...)
	}
	return append([]byte(nil), ws.attach...)
}

// SetAttachment replaces the socket's attachment (at most SocketConfig.MaxAttachment
// bytes). It is visible at once to the rest of the turn and to the turns after it; a
// failed turn, or a batch whose commit fails, leaves the previous attachment.
func (ws *WebSocket) SetAttachment(b []byte) error {
	st, err := ws.turnState()
	if err != nil {
		return err
	}
	if max := ws.set.reg.cfg.MaxAttachment; len(b) > max {
		return fmt.Errorf("%w: attachment of %d bytes, at most %d", ErrTooLarge, len(b), max)
	}
	v := append([]byte(nil), b...)
	ws.mu.Lock()
	prev, prevDirty := ws.cur, ws.dirty
	ws.cur, ws.dirty = v, true
	ws.mu.Unlock()
	st.onUndo(func() {
		ws.mu.Lock()
		ws.cur, ws.dirty = prev, prevDirty
		ws.mu.Unlock()
	})
	st.OnCommit(func() {
		ws.mu.Lock()
		ws.attach, ws.cur, ws.dirty = v, nil, false
		ws.mu.Unlock()
	})
	return nil
}

// SetAttachmentJSON stores v, JSON-encoded, as the attachment.
func (ws *WebSocket) SetAttachmentJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("object: encode attachment: %w", err)
	}
	return ws.SetAttachment(b)
}

// AttachmentJSON decodes the attachment into v; it reports false when there is none.
func (ws *WebSocket) AttachmentJSON(v any) (bool, error) {
	b := ws.Attachment()
	if len(b) == 0 {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return true, fmt.Errorf("object: decode attachment: %w", err)
	}
	return true, nil
}

// AttachmentOf returns ws's attachment decoded from JSON as an S: the socket's typed
// state (the zero S when it has none). Store it with SetAttachmentJSON.
func AttachmentOf[S any](ws *WebSocket) (S, error) {
	var s S
	_, err := ws.AttachmentJSON(&s)
	return s, err
}

// LastSeen returns when the peer last sent a message or answered a ping.
func (ws *WebSocket) LastSeen() time.Time { return time.Unix(0, ws.lastSeen.Load()) }

// AutoResponseTime returns when the runtime last answered this socket's auto-response
// request (State.SetAutoResponse), or the zero time.
func (ws *WebSocket) AutoResponseTime() time.Time {
	if n := ws.lastAuto.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Send queues m for the socket. It is written only after the turn commits, and never
// if the turn fails. Sending to a closed socket returns ErrSocketClosed.
func (ws *WebSocket) Send(m Message) error {
	st, err := ws.turnState()
	if err != nil {
		return err
	}
	ws.mu.Lock()
	p := ws.phase
	ws.mu.Unlock()
	if p >= phaseClosing {
		return ErrSocketClosed
	}
	st.outbox = append(st.outbox, output{frame: newFrame(m), one: ws})
	return nil
}

// SendText is Send(TextMessage(s)).
func (ws *WebSocket) SendText(s string) error { return ws.Send(TextMessage(s)) }

// SendBinary is Send(BinaryMessage(b)).
func (ws *WebSocket) SendBinary(b []byte) error { return ws.Send(BinaryMessage(b)) }

// SendJSON sends v, JSON-encoded, as a text message.
func (ws *WebSocket) SendJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("object: encode message: %w", err)
	}
	return ws.Send(Message{Data: b})
}

// Close closes the socket with code (1000, or 3000-4999) and reason (at most 123
// bytes) once the turn commits, after the messages sent before it. OnClose follows.
func (ws *WebSocket) Close(code int, reason string) error {
	st, err := ws.turnState()
	if err != nil {
		return err
	}
	if code != CloseNormal && (code < 3000 || code > 4999) {
		return fmt.Errorf("object: close code %d: use 1000 or 3000-4999", code)
	}
	if len(reason) > 123 {
		return fmt.Errorf("%w: close reason of %d bytes, at most 123", ErrTooLarge, len(reason))
	}
	st.OnCommit(func() { ws.closeAfterQueue(code, reason) })
	return nil
}

// turnState returns the running turn's State of the socket's object.
func (ws *WebSocket) turnState() (*State, error) {
	rt := ws.set.reg.rt
	rt.mu.Lock()
	e := rt.objects[ws.set.key]
	rt.mu.Unlock()
	if e == nil || e.state == nil || !e.state.inTurn {
		return nil, fmt.Errorf("%w: WebSocket used outside its object's turns", ErrNotInTurn)
	}
	return e.state, nil
}

// WebSockets returns the object's open sockets, those with tag when tag is not empty,
// in the order they connected. It includes a socket whose OnConnect is running.
func (st *State) WebSockets(tag string) []*WebSocket {
	set := st.socketSet(false)
	if set == nil {
		return nil
	}
	r := set.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*WebSocket, 0, len(set.socks))
	for _, ws := range set.socks {
		if tag == "" || ws.hasTag(tag) {
			out = append(out, ws)
		}
	}
	return out
}

// WebSocket returns the object's open socket with connection ID id, or nil.
func (st *State) WebSocket(id string) *WebSocket {
	set := st.socketSet(false)
	if set == nil {
		return nil
	}
	set.reg.mu.Lock()
	defer set.reg.mu.Unlock()
	for _, ws := range set.socks {
		if ws.id == id {
			return ws
		}
	}
	return nil
}

func (ws *WebSocket) hasTag(tag string) bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, t := range ws.tags {
		if t == tag {
			return true
		}
	}
	return false
}

// SetAutoResponse makes the runtime answer a text message equal to request (exactly)
// with response on any of the object's sockets, without a turn and without waking a
// hibernated object. An empty request clears it. Like the turn's other outputs it
// takes effect when the turn commits, and never if the turn fails; it lasts while the
// object has sockets, and is lost when the last one closes.
func (st *State) SetAutoResponse(request, response string) error {
	if len(request) > 2048 || len(response) > 2048 {
		return fmt.Errorf("%w: auto-response request and response are at most 2048 bytes", ErrTooLarge)
	}
	if !st.inTurn {
		return ErrNotInTurn
	}
	var a *autoResponse
	if request != "" {
		a = &autoResponse{req: request, resp: response}
	}
	st.OnCommit(func() { st.socketSet(true).auto.Store(a) })
	return nil
}
