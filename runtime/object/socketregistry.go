package object

import (
	"sync"
	"sync/atomic"
)

// SocketConfig bounds WebSockets. The zero value of every field is usable.
type SocketConfig struct {
	// MaxPerObject bounds the sockets connected to one object. Default
	// DefaultSocketsPerObject.
	MaxPerObject int
	// SendQueue bounds the messages waiting to be written to one socket; when a send
	// would exceed it the socket is closed with CloseTryAgainLater (1013, reason
	// "send queue overflow") and counted as a slow consumer. Default DefaultSendQueue.
	SendQueue int
	// SendQueueBytes bounds the bytes waiting to be written to one socket, likewise.
	// Default DefaultSendQueueBytes.
	SendQueueBytes int
	// MaxAttachment bounds a socket's attachment. Default DefaultMaxAttachment.
	MaxAttachment int
	// MaxTags bounds the tags of one socket (default DefaultMaxTags); each tag is at
	// most 256 bytes.
	MaxTags int
	// InboundQueue bounds the received messages of one socket waiting for their turn;
	// beyond it the transport stops reading from that socket (TCP back-pressure).
	// Default DefaultInboundQueue.
	InboundQueue int
}

// The defaults of SocketConfig's fields (a zero field gets its default).
const (
	DefaultSocketsPerObject = 32768
	DefaultSendQueue        = 1024
	DefaultSendQueueBytes   = 8 << 20  // 8 MiB
	DefaultMaxAttachment    = 16 << 10 // 16 KiB
	DefaultMaxTags          = 10
	DefaultInboundQueue     = 64
)

func (c SocketConfig) withDefaults() SocketConfig {
	if c.MaxPerObject <= 0 {
		c.MaxPerObject = DefaultSocketsPerObject
	}
	if c.SendQueue <= 0 {
		c.SendQueue = DefaultSendQueue
	}
	if c.SendQueueBytes <= 0 {
		c.SendQueueBytes = DefaultSendQueueBytes
	}
	if c.MaxAttachment <= 0 {
		c.MaxAttachment = DefaultMaxAttachment
	}
	if c.MaxTags <= 0 {
		c.MaxTags = DefaultMaxTags
	}
	if c.InboundQueue <= 0 {
		c.InboundQueue = DefaultInboundQueue
	}
	return c
}

// sockets of one object.
type socketSet struct {
	reg   *socketRegistry
	key   objectKey
	id    ID
	socks []*WebSocket
	n     int // listed plus reserved
	auto  atomic.Pointer[autoResponse]
	// shares bounds each client address's received messages waiting (inboundshare.go).
	shares addrShares
}

type autoResponse struct{ req, resp string }

// socketRegistry holds every object's sockets, in the runtime so that they survive
// evictions.
type socketRegistry struct {
	rt   *Runtime
	cfg  SocketConfig
	once sync.Once

	mu   sync.Mutex
	sets map[objectKey]*socketSet
	open int
	// perAddr is the runtime's Config.MaxQueuePerAddress.
	perAddr int

	msgIn, msgOut, slow, auto, rejected, accepted, undelivered atomic.Int64
}

func (rt *Runtime) sockets() *socketRegistry {
	r := &rt.socks
	r.once.Do(func() {
		r.rt = rt
		r.cfg = rt.cfg.Sockets.withDefaults()
		r.perAddr = rt.cfg.MaxQueuePerAddress
		r.sets = map[objectKey]*socketSet{}
	})
	return r
}

// SocketStats is a snapshot of the runtime's WebSocket counters, for metrics.
type SocketStats struct {
	Open          int   // sockets connected (including those of hibernated objects)
	Objects       int   // objects with at least one socket
	Hibernated    int   // objects with sockets whose instance is not in memory
	MessagesIn    int64 // messages received (auto-responses included)
	MessagesOut   int64 // messages handed to transports (auto-responses included)
	SlowConsumers int64 // sockets closed because their send queue overflowed
	AutoResponses int64 // requests answered by the auto-response without a turn
	Undelivered   int64 // received messages that could not be delivered to their object (their socket was closed, 1013)
	Accepted      int64 // sockets accepted
	Rejected      int64 // sockets refused by a limit or by OnConnect
}

// SocketStats returns the current WebSocket counters.
func (rt *Runtime) SocketStats() SocketStats {
	r := rt.sockets()
	r.mu.Lock()
	keys := make([]objectKey, 0, len(r.sets))
	for k, s := range r.sets {
		if len(s.socks) > 0 {
			keys = append(keys, k)
		}
	}
	open := r.open
	r.mu.Unlock()
	hib := 0
	rt.mu.Lock()
	for _, k := range keys {
		if rt.objects[k] == nil {
			hib++
		}
	}
	rt.mu.Unlock()
	return SocketStats{
		Open: open, Objects: len(keys), Hibernated: hib,
		MessagesIn: r.msgIn.Load(), MessagesOut: r.msgOut.Load(), SlowConsumers: r.slow.Load(),
		AutoResponses: r.auto.Load(), Accepted: r.accepted.Load(), Rejected: r.rejected.Load(),
		Undelivered: r.undelivered.Load(),
	}
}

// CloseSockets closes every socket of the runtime with code and reason, at once and
// outside any turn (a host shutting down uses CloseServiceRestart). OnClose handlers
// still run while the runtime is open.
func (rt *Runtime) CloseSockets(code int, reason string) {
	r := rt.sockets()
	r.mu.Lock()
	var all []*WebSocket
	for _, s := range r.sets {
		all = append(all, s.socks...)
	}
	r.mu.Unlock()
	for _, ws := range all {
		ws.mu.Lock()
		ws.closeLocked(code, reason)
		ws.mu.Unlock()
	}
}

// socketSet returns the object's socket set, creating it when create is set.
func (st *State) socketSet(create bool) *socketSet {
	r := st.e.rt.sockets()
	key := objectKey{st.e.ns, st.e.id.raw}
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.sets[key]
	if set == nil && create {
		set = &socketSet{reg: r, key: key, id: st.e.id}
		r.sets[key] = set
	}
	return set
}
