package object_test

import (
	"context"
	"net/http/httptest"
	"strconv"
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

// TestBatchIsTakenWhole pins the staging of a batch's frames (issue 16): a host may
// call Take at any moment (runtime/server does when a held socket's tick comes), and
// still never gets part of the frames one batch sends a socket while the batch is
// queuing the rest. Before, frames were takeable as soon as each was queued, and a
// Take racing a broadcast turn split it into two writes (the TestBatchGoesOutInOneWrite
// flake of runtime/server under load).
func TestBatchIsTakenWhole(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	const perTurn = 200
	ns, err := object.Register(rt.Runtime, "burst", func(ctx context.Context, st *object.State) (*burster, error) {
		return &burster{st: st, n: perTurn}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := ns.AcceptSocket(httptest.NewRequest("GET", "/", nil), "room", "a")
	if err != nil {
		t.Fatal(err)
	}
	hs := wshost.Of(h)
	hs.Start(nopTransport{})
	// The taker spins on Take, as a host that does not wait for Flush may.
	takes := make(chan int, 1024)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf []*wshost.Frame
		for {
			select {
			case <-stop:
				return
			default:
			}
			buf = hs.Take(buf[:0], 1<<20)
			if len(buf) > 0 {
				takes <- len(buf)
			}
		}
	}()
	const turns = 20
	for range turns {
		hs.Receive(false, []byte("go"))
		for got := 0; got < perTurn; {
			n := <-takes
			if n%perTurn != 0 {
				close(stop)
				<-done
				t.Fatalf("a Take got %d frames, part of a batch of %d", n, perTurn)
			}
			got += n
		}
	}
	close(stop)
	<-done
}

// burster sends n frames to its socket on every message, in one turn.
type burster struct {
	st *object.State
	n  int
}

func (b *burster) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	for i := range b.n {
		ws.SendText(strconv.Itoa(i))
	}
	return nil
}

// nopTransport is a host that writes nothing: its taker pulls on its own.
type nopTransport struct{}

func (nopTransport) Flush()            {}
func (nopTransport) Close(int, string) {}
