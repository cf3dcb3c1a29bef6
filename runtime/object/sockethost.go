package object

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/warrenhq/warren/runtime/internal/clientaddr"
	"github.com/warrenhq/warren/runtime/internal/wshost"
)

// HostSocket is a WebSocket an Endpoint reserved for the host to upgrade. It is
// opaque: an Endpoint that wraps another passes it on, and the host drives it
// through runtime/internal/wshost.
type HostSocket struct {
	ws  *WebSocket
	req *http.Request
}

// Object returns the namespace and ID of the object the socket is reserved for
// (an Endpoint that wraps a namespace may have chosen it from the request).
func (h *HostSocket) Object() (namespace string, id ID) {
	return h.ws.set.key.ns.name, h.ws.set.id
}

// hostSide is a HostSocket's methods for the host: it implements wshost.Socket,
// whose documentation is theirs.
type hostSide HostSocket

func init() { wshost.Of = func(h any) wshost.Socket { return (*hostSide)(h.(*HostSocket)) } }

func (r *socketRegistry) reserve(ns *nsCore, id ID, connID string, req *http.Request) (*HostSocket, error) {
	if r.rt.closedNow() {
		return nil, ErrClosed
	}
	key := objectKey{ns, id.raw}
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.sets[key]
	if set == nil {
		set = &socketSet{reg: r, key: key, id: id}
		r.sets[key] = set
	}
	if set.n >= r.cfg.MaxPerObject {
		r.rejected.Add(1)
		if len(set.socks) == 0 && set.n == 0 {
			delete(r.sets, key)
		}
		return nil, fmt.Errorf("%w: %d sockets on %s/%s", ErrTooManySockets, set.n, ns.name, id)
	}
	set.n++
	ws := &WebSocket{set: set, id: connID, idx: -1, inbound: make(chan struct{}, r.cfg.InboundQueue)}
	if req != nil {
		ws.addr = clientaddr.Key(req.RemoteAddr)
	}
	ws.lastSeen.Store(r.rt.cfg.Clock.Now().UnixNano())
	return &HostSocket{ws: ws, req: req}, nil
}

func (rt *Runtime) closedNow() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.closed
}

// Start implements wshost.Socket.
func (h *hostSide) Start(t wshost.Transport) {
	ws := h.ws
	set := ws.set
	r := set.reg
	ws.mu.Lock()
	ws.t = t
	ws.phase = phaseOpen
	ws.flushLocked()
	ws.mu.Unlock()
	r.mu.Lock()
	ws.idx = len(set.socks)
	set.socks = append(set.socks, ws)
	r.open++
	r.mu.Unlock()
	req := h.req
	h.req = nil
	ev := &event{ctx: context.Background(),
		run: func(ctx context.Context, inst any) error {
			if c, ok := inst.(ConnectHandler); ok {
				if err := c.OnConnect(ctx, ws, req); err != nil {
					return err
				}
			}
			// Later turns of the same batch see the socket accepted. If the batch
			// fails, the accept is undone (no OnClose for it) and done closes it.
			ws.accepted = true
			if st, err := ws.turnState(); err == nil {
				st.onUndo(func() { ws.accepted = false })
			}
			return nil
		},
		done: func(err error) {
			if err == nil {
				r.accepted.Add(1)
				return
			}
			r.rejected.Add(1)
			code, reason := CloseInternalError, "internal error"
			var ce *CloseError
			if errors.As(err, &ce) {
				code, reason = ce.Code, ce.Reason
			} else if errors.Is(err, ErrOverloaded) || errors.Is(err, ErrRetryable) {
				code, reason = CloseTryAgainLater, "try again later"
			} else {
				r.rt.cfg.Logger.Warn("object: OnConnect failed", "namespace", set.key.ns.name, "id", set.id.String(), "conn", ws.id, "err", err)
			}
			ws.mu.Lock()
			ws.closeLocked(code, truncate(reason, 123))
			ws.mu.Unlock()
		}}
	if err := r.rt.dispatch(set.key.ns, set.id, ev); err != nil {
		ev.done(err)
	}
}

// Receive implements wshost.Socket.
func (h *hostSide) Receive(binary bool, data []byte) {
	ws := h.ws
	set := ws.set
	r := set.reg
	now := r.rt.cfg.Clock.Now().UnixNano()
	ws.lastSeen.Store(now)
	r.msgIn.Add(1)
	if !binary {
		if a := set.auto.Load(); a != nil && a.req == string(data) {
			ws.lastAuto.Store(now)
			r.auto.Add(1)
			ws.enqueue(&wshost.Frame{Data: []byte(a.resp)})
			return
		}
	}
	ws.inbound <- struct{}{}
	set.shares.acquire(ws.addr, r.perAddr)
	m := Message{Binary: binary, Data: data}
	handled := false // OnMessage ran: its own error leaves the socket open
	ev := &event{ctx: context.Background(), message: true,
		run: func(ctx context.Context, inst any) error {
			if !ws.accepted {
				return nil // refused by OnConnect
			}
			handled = true
			return inst.(MessageHandler).OnMessage(ctx, ws, m)
		},
		done: func(err error) {
			set.shares.release(ws.addr)
			<-ws.inbound
			if err == nil {
				return
			}
			if code, reason, lost := undeliverable(err, handled); lost {
				r.undelivered.Add(1)
				r.rt.cfg.Logger.Warn("object: message not delivered; closing its socket", "namespace", set.key.ns.name, "id", set.id.String(), "conn", ws.id, "code", code, "err", err)
				ws.mu.Lock()
				ws.closeLocked(code, reason)
				ws.mu.Unlock()
				return
			}
			r.rt.cfg.Logger.Warn("object: OnMessage failed", "namespace", set.key.ns.name, "id", set.id.String(), "conn", ws.id, "err", err)
		}}
	if err := r.rt.dispatch(set.key.ns, set.id, ev); err != nil {
		ev.done(err)
	}
}

// undeliverable says whether a message turn that ended with err was lost to its
// object, and the close code that tells its client: 1013 (try again later) when the
// object was overloaded or the turn had no effect (ErrRetryable: its commit failed),
// 1012 when the runtime is shutting down, 1011 when the handler never ran for another
// reason (the constructor failed, the database is corrupt). An error the handler
// returned itself (handled) is not a loss.
func undeliverable(err error, handled bool) (code int, reason string, lost bool) {
	switch {
	case errors.Is(err, ErrClosed):
		return CloseServiceRestart, "service restart", true
	case errors.Is(err, ErrOverloaded), errors.Is(err, ErrRetryable):
		return CloseTryAgainLater, "message not delivered, try again later", true
	case !handled:
		return CloseInternalError, "message not delivered", true
	}
	return 0, "", false
}

// Seen implements wshost.Socket.
func (h *hostSide) Seen() { h.ws.lastSeen.Store(h.ws.set.reg.rt.cfg.Clock.Now().UnixNano()) }

// Error implements wshost.Socket.
func (h *hostSide) Error(err error) {
	ws := h.ws
	set := ws.set
	ev := &event{ctx: context.Background(),
		run: func(ctx context.Context, inst any) error {
			if eh, ok := inst.(ErrorHandler); ok && ws.accepted {
				return eh.OnError(ctx, ws, err)
			}
			return nil
		}}
	set.reg.rt.dispatch(set.key.ns, set.id, ev)
}

// Closed implements wshost.Socket.
func (h *hostSide) Closed(code int, reason string, clean bool) {
	ws := h.ws
	set := ws.set
	r := set.reg
	ws.mu.Lock()
	if ws.phase == phaseClosed {
		ws.mu.Unlock()
		return
	}
	started := ws.t != nil
	if ws.closeCode != 0 && !clean {
		code, reason, clean = ws.closeCode, ws.closeMsg, true // we closed it
	}
	ws.phase = phaseClosed
	ws.q, ws.qBytes, ws.ready = nil, 0, 0
	ws.mu.Unlock()
	r.mu.Lock()
	set.n--
	if ws.idx >= 0 {
		last := len(set.socks) - 1
		moved := set.socks[last]
		set.socks[ws.idx] = moved
		moved.idx = ws.idx
		set.socks[last] = nil
		set.socks = set.socks[:last]
		ws.idx = -1
		r.open--
	}
	if set.n == 0 && len(set.socks) == 0 {
		delete(r.sets, set.key)
	}
	r.mu.Unlock()
	if started {
		r.deliverClose(ws, code, reason, clean, 0)
	}
}

// closeRetries bounds the attempts at an OnClose whose turn could not run (its
// commit failed, the object could not be constructed); between them it waits
// 2 s × 2ⁿ, like a failing alarm.
const closeRetries = 6

// deliverClose runs OnClose for a socket that is gone. It is never refused for a full
// queue or a long wait (one per socket, so the queue stays bounded by the sockets), and
// a turn that could not run is tried again; only an error of OnClose itself, or the
// runtime closing, ends it.
func (r *socketRegistry) deliverClose(ws *WebSocket, code int, reason string, clean bool, attempt int) {
	if ws.dropped.Load() {
		return // its object was deleted or restored: an event would bring a deleted one back
	}
	set := ws.set
	handled := false
	ev := &event{ctx: context.Background(), internal: true, mustQueue: true,
		run: func(ctx context.Context, inst any) error {
			if ch, ok := inst.(CloseHandler); ok && ws.accepted {
				handled = true
				return ch.OnClose(ctx, ws, code, reason, clean)
			}
			return nil
		}}
	ev.done = func(err error) {
		if err == nil || errors.Is(err, ErrClosed) || errors.Is(err, errDeleted) {
			return // delivered, the runtime closing, or the object deleted (no retry revives it)
		}
		log := r.rt.cfg.Logger.With("namespace", set.key.ns.name, "id", set.id.String(), "conn", ws.id, "err", err)
		if _, _, lost := undeliverable(err, handled); !lost {
			log.Warn("object: OnClose failed")
			return
		}
		if attempt >= closeRetries {
			log.Error("object: OnClose not delivered; giving up after its retries")
			return
		}
		log.Warn("object: OnClose not delivered; retrying")
		r.rt.cfg.Clock.AfterFunc(r.rt.alarmBackoff(attempt), func() { r.deliverClose(ws, code, reason, clean, attempt+1) })
	}
	if err := r.rt.dispatch(set.key.ns, set.id, ev); err != nil {
		ev.done(err)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
