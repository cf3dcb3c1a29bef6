package object_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/warrenhq/warren/runtime/internal/wshost"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// pullHost is the least a host does with a socket (runtime/server does it on real
// connections): on Flush it takes the queued frames, here on a goroutine of its own.
type pullHost struct {
	hs     wshost.Socket
	mu     sync.Mutex
	frames []*wshost.Frame
	got    chan struct{}
}

func (p *pullHost) Flush() {
	go func() {
		for {
			fs := p.hs.Take(nil, 1<<20)
			if len(fs) == 0 {
				return
			}
			p.mu.Lock()
			p.frames = append(p.frames, fs...)
			p.mu.Unlock()
			p.got <- struct{}{}
		}
	}()
}

func (p *pullHost) Close(int, string) {}

type caster struct{ st *object.State }

func (c *caster) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	c.st.Broadcast(m)
	return nil
}

// TestBroadcastSharesOneFrame pins encode-once (issue 16): a broadcast hands every
// socket the same Frame, whose wire encoding is made once for all of them.
func TestBroadcastSharesOneFrame(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	ns, err := object.Register(rt.Runtime, "cast", func(ctx context.Context, st *object.State) (*caster, error) {
		return &caster{st: st}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	hosts := make([]*pullHost, 3)
	for i := range hosts {
		h, err := ns.AcceptSocket(httptest.NewRequest("GET", "/", nil), "room", string(rune('a'+i)))
		if err != nil {
			t.Fatal(err)
		}
		hs := wshost.Of(h)
		hosts[i] = &pullHost{hs: hs, got: make(chan struct{}, 16)}
		hs.Start(hosts[i])
	}
	hosts[0].hs.Receive(false, []byte("hello"))
	for _, h := range hosts {
		<-h.got
	}
	var encodes atomic.Int32
	encode := func(f *wshost.Frame) []byte { encodes.Add(1); return append([]byte("wire:"), f.Data...) }
	f := hosts[0].frames[0]
	for _, h := range hosts {
		if len(h.frames) != 1 || h.frames[0] != f {
			t.Fatalf("socket got frames %v, want the one shared frame %p", h.frames, f)
		}
		if w := string(h.frames[0].Wire(encode)); w != "wire:hello" {
			t.Fatalf("wire %q", w)
		}
	}
	if n := encodes.Load(); n != 1 {
		t.Fatalf("encoded %d times for 3 sockets, want once", n)
	}
}
