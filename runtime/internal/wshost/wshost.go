// Package wshost is the host's side of the WebSockets of package object: what a host
// (runtime/server) uses to drive a socket an object.Endpoint reserved. Applications
// never use it (only the runtime module can import it), so that package object's
// documentation shows what applications program against.
package wshost

import "sync/atomic"

// Socket is the host's side of one reserved WebSocket (Of gives it for an
// *object.HostSocket): the transport reports frames and the end of the connection
// through it.
type Socket interface {
	// Start attaches the upgraded connection and runs OnConnect as a turn. Messages
	// the transport receives after Start are delivered after OnConnect.
	Start(t Transport)
	// Receive delivers one received message as a turn (OnMessage), or answers it
	// with the object's auto-response. It blocks while SocketConfig.InboundQueue
	// messages of this socket, or Config.MaxQueuePerAddress of its client address,
	// wait for their turns. A message that cannot be delivered (the object is
	// overloaded, its commit failed, it cannot be constructed) closes the socket, so
	// that its client reconnects and sends it again; an error that OnMessage itself
	// returns is only logged.
	Receive(binary bool, data []byte)
	// Seen records that the peer is alive (a pong).
	Seen()
	// Take appends to dst the frames waiting for the transport, oldest first, and
	// removes them from the socket's queue: as many as fit in maxBytes of data, at
	// least one. When it finds none it returns dst unchanged, and the transport is
	// idle until its next Flush. Once the frames queued before a Close are all
	// taken, it closes the transport (Transport.Close, after these frames). The
	// frames one batch of turns sends the socket become takeable together, once the
	// batch has queued them all, so a Take never returns part of them while the
	// rest are still being queued (it may split them only at maxBytes).
	Take(dst []*Frame, maxBytes int) []*Frame
	// Error reports a transport error (protocol violation, message too big);
	// OnError runs as a turn before OnClose.
	Error(err error)
	// Closed reports that the connection is gone: the peer's close code and reason
	// when it sent a close frame (clean), else CloseAbnormal. OnClose runs as a
	// turn. It is safe to call more than once, and before Start (the reservation
	// is released).
	Closed(code int, reason string, clean bool)
}

// Of returns the host's side of h, an *object.HostSocket. Package object sets it
// (it cannot be imported from here).
var Of func(h any) Socket

// Transport is one WebSocket connection as a host (runtime/server) implements it.
// The socket keeps its outgoing frames in its own bounded queue; the transport pulls
// them with Socket.Take. Flush and Close are called with the socket's lock held:
// they must not block, and must not call the Socket back before they return.
type Transport interface {
	// Flush says that frames wait in the socket's queue while the transport is idle:
	// the transport must then call Socket.Take, from one goroutine at a time,
	// until it returns no frame, and write what it returns in order. Flush is not
	// called again before such a Take (frames queued meanwhile are taken by it).
	Flush()
	// Close sends a close frame with code and reason after the frames already taken,
	// and closes the connection; it must take effect even when frames are pending on
	// a peer that does not read.
	Close(code int, reason string)
}

// Frame is one outgoing message, shared by every socket it is sent to (a broadcast
// makes one Frame for all its sockets). Its Data never changes once it is queued.
type Frame struct {
	Binary bool
	Data   []byte
	wire   atomic.Pointer[[]byte]
}

// Wire returns the frame as encode puts it on the wire, encoding it at most once for
// all the sockets that send it (two transports racing may both encode; one result is
// kept). encode must be the same function for every caller.
func (f *Frame) Wire(encode func(f *Frame) []byte) []byte {
	if w := f.wire.Load(); w != nil {
		return *w
	}
	w := encode(f)
	f.wire.CompareAndSwap(nil, &w)
	return *f.wire.Load()
}
