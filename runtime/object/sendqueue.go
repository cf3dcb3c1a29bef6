package object

import (
	"github.com/warrenhq/warren/runtime/internal/wshost"
)

func newFrame(m Message) *wshost.Frame {
	return &wshost.Frame{Binary: m.Binary, Data: append([]byte(nil), m.Data...)}
}

// enqueue queues f for the socket and lets the transport take it.
func (ws *WebSocket) enqueue(f *wshost.Frame) {
	ws.stage(f)
	ws.release()
}

// stage queues f behind the frames the transport may take, where it waits for
// release: a batch stages all its frames for a socket before it releases them, so
// that no Take returns part of them while the rest are still coming (they go out in
// one write). It reports whether the socket was not staging yet, so that the caller
// must release it.
func (ws *WebSocket) stage(f *wshost.Frame) (first bool) {
	reg := ws.set.reg
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.phase != phaseOpen && ws.phase != phaseReserved {
		return false
	}
	if len(ws.q) >= reg.cfg.SendQueue || ws.qBytes+len(f.Data) > reg.cfg.SendQueueBytes {
		reg.slow.Add(1)
		ws.closeLocked(CloseTryAgainLater, "send queue overflow")
		return false
	}
	ws.q = append(ws.q, f)
	ws.qBytes += len(f.Data)
	first = !ws.staging
	ws.staging = true
	return first
}

// release makes the staged frames takeable and tells an idle transport.
func (ws *WebSocket) release() {
	ws.mu.Lock()
	ws.staging = false
	ws.ready = len(ws.q)
	if ws.phase < phaseClosed {
		ws.flushLocked()
	}
	ws.mu.Unlock()
}

// flushLocked tells an idle transport that frames wait.
func (ws *WebSocket) flushLocked() {
	if !ws.flushing && ws.t != nil && ws.ready > 0 {
		ws.flushing = true
		ws.t.Flush()
	}
}

// output is one output of a turn, released after its batch commits: an OnCommit
// callback (f), or a frame for one socket (Send) or several (Broadcast).
type output struct {
	f     func()
	frame *wshost.Frame
	one   *WebSocket
	to    []*WebSocket
}

// sockets returns how many sockets the output's frame is for (0 for a callback).
func (o output) sockets() int {
	n := len(o.to)
	if o.one != nil {
		n++
	}
	return n
}

// stage stages the output's frame for its sockets and appends to staged those that
// were not staging yet.
func (o output) stage(staged []*WebSocket) []*WebSocket {
	if o.one != nil && o.one.stage(o.frame) {
		staged = append(staged, o.one)
	}
	for _, ws := range o.to {
		if ws.stage(o.frame) {
			staged = append(staged, ws)
		}
	}
	return staged
}

// releaseSockets releases the frames staged for socks, and returns the emptied list.
func releaseSockets(socks []*WebSocket) []*WebSocket {
	for _, ws := range socks {
		ws.release()
	}
	clear(socks)
	return socks[:0]
}

// closeAfterQueue closes the socket once the frames queued before it are taken.
func (ws *WebSocket) closeAfterQueue(code int, reason string) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.phase >= phaseClosing {
		return
	}
	if len(ws.q) == 0 {
		ws.closeLocked(code, reason)
		return
	}
	ws.closeCode, ws.closeMsg = code, reason
	ws.phase = phaseClosing // Sent hands over the rest, then closes
}

// closeLocked closes the transport now, dropping queued frames. Only the first close
// of a socket reaches the transport.
func (ws *WebSocket) closeLocked(code int, reason string) {
	if ws.phase >= phaseClosed || ws.closeSent {
		return
	}
	ws.phase = phaseClosing
	ws.closeCode, ws.closeMsg = code, reason
	ws.q, ws.qBytes, ws.ready = nil, 0, 0
	if ws.t != nil {
		ws.closeSent = true
		ws.t.Close(code, reason)
	}
}

// keptQueueCap is the largest send queue array a socket keeps once drained.
const keptQueueCap = 64

// Take implements wshost.Socket.
func (h *hostSide) Take(dst []*wshost.Frame, maxBytes int) []*wshost.Frame {
	ws := h.ws
	ws.mu.Lock()
	defer ws.mu.Unlock()
	n, size := 0, 0
	for n < ws.ready && (n == 0 || size+len(ws.q[n].Data) <= maxBytes) {
		size += len(ws.q[n].Data)
		n++
	}
	if n == 0 {
		ws.flushing = false
		return dst
	}
	dst = append(dst, ws.q[:n]...)
	// The rest moves to the front, so the queue's array serves the next frames
	// instead of a new one per round; a burst's large array goes back.
	rest := copy(ws.q, ws.q[n:])
	clear(ws.q[rest:])
	ws.q = ws.q[:rest]
	ws.ready -= n
	if rest == 0 && cap(ws.q) > keptQueueCap {
		ws.q = nil
	}
	ws.qBytes -= size
	ws.set.reg.msgOut.Add(int64(n))
	if len(ws.q) == 0 {
		if ws.phase == phaseClosing && ws.closeCode != 0 {
			ws.closeLocked(ws.closeCode, ws.closeMsg)
		}
	}
	return dst
}
