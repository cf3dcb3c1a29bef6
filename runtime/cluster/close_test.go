package cluster

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/warrenhq/warren/runtime/object"
)

// pausingProxy relays TCP connections to a NATS server's client port; while paused
// it holds every byte it receives, in both directions, so that the server's answers
// (and the requests themselves) go unanswered, as with a server paused or cut off.
type pausingProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	cond   *sync.Cond
	paused bool
	conns  []net.Conn
}

func startPausingProxy(t testing.TB, target string) *pausingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pausingProxy{ln: ln, target: strings.TrimPrefix(target, "nats://")}
	p.cond = sync.NewCond(&p.mu)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *pausingProxy) url() string { return "nats://" + p.ln.Addr().String() }

func (p *pausingProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go p.relay(c, s)
		go p.relay(s, c)
	}
}

// relay copies from src to dst, waiting while the proxy is paused before it writes.
func (p *pausingProxy) relay(src, dst net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.paused {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

func (p *pausingProxy) setPaused(paused bool) {
	p.mu.Lock()
	p.paused = paused
	p.cond.Broadcast()
	p.mu.Unlock()
}

// cut closes the connections relayed so far, losing what the proxy holds (the
// listener stays: clients reconnect), and unpauses.
func (p *pausingProxy) cut() {
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.paused = false
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *pausingProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.paused = false
	p.cond.Broadcast()
	p.mu.Unlock()
}

// Runtime.Close and Node.Close are bounded when JetStream stops answering: a batch whose fenced
// append went unanswered, and an activation waiting for its claim, give up once Close
// cancels their context (Config.CloseTimeout), and neither releases anything: the
// caller of the commit gets ErrIndeterminate, the activation's caller an error. So
// does an operator's console write held behind the batch, whose own context has no
// deadline (its hold's activation and its commit are cut off too).
// Before, Close waited for the append's and the activation's own timeouts
// (RequestTimeout and 3 × RequestTimeout: 30 s and 90 s here; minutes were seen).
func TestRuntimeCloseBoundedWhenJetStreamHangs(t *testing.T) {
	c := sharedCluster(t)
	proxy := startPausingProxy(t, c.servers[0].ClientURL())
	nc, err := nats.Connect(proxy.url(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	n, err := Join(testContext(t), nc, testConfig("hang"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	const closeTimeout = 500 * time.Millisecond
	r := attachRuntimeConfig(t, n, object.Config{CloseTimeout: closeTimeout})

	if _, err := r.add(testContext(t), "hang-a", 1); err != nil {
		t.Fatal(err)
	}
	proxy.setPaused(true)
	type result struct {
		count int
		err   error
	}
	stuckCommit, stuckOpen := make(chan result, 1), make(chan result, 1)
	go func() { // A is open: its batch waits in the fenced append
		count, err := r.add(context.Background(), "hang-a", 2)
		stuckCommit <- result{count, err}
	}()
	go func() { // B is new: its activation waits for the claim
		count, err := r.add(context.Background(), "hang-b", 1)
		stuckOpen <- result{count, err}
	}()
	consoleWrite := make(chan error, 1)
	go func() { // an operator's write to A, with no deadline of its own: held behind the batch
		time.Sleep(200 * time.Millisecond)
		_, err := r.rt.Query(context.Background(), "ledger", r.ns.IDFromName("hang-a"),
			`INSERT INTO entries (n) VALUES (3)`, object.QueryOptions{Write: true})
		consoleWrite <- err
	}()
	time.Sleep(time.Second) // all sent to JetStream, which holds them unanswered
	select {
	case res := <-stuckCommit:
		t.Fatalf("the commit returned while JetStream was cut off: %+v", res)
	case res := <-stuckOpen:
		t.Fatalf("the activation returned while JetStream was cut off: %+v", res)
	default:
	}

	began := time.Now()
	closed := make(chan struct{})
	go func() {
		r.rt.Close()
		close(closed)
	}()
	const bound = 10 * time.Second // CloseTimeout + scheduling slack on a loaded machine
	select {
	case <-closed:
	case <-time.After(bound):
		t.Fatalf("Runtime.Close still waiting %v after it began (CloseTimeout %v)", bound, closeTimeout)
	}
	t.Logf("Runtime.Close returned after %v", time.Since(began).Round(time.Millisecond))
	res := <-stuckCommit
	if !errors.Is(res.err, object.ErrIndeterminate) {
		t.Errorf("the batch whose append went unanswered: %d, %v; want ErrIndeterminate", res.count, res.err)
	}
	res = <-stuckOpen
	if res.err == nil {
		t.Errorf("the activation that was never claimed answered %d", res.count)
	}
	if err := <-consoleWrite; err == nil {
		t.Error("the console write succeeded with JetStream cut off")
	}
	began = time.Now()
	n.Close() // its goodbye goes unanswered too
	if d := time.Since(began); d > leaveTimeout+3*time.Second {
		t.Errorf("Node.Close took %v with JetStream cut off", d)
	}
	proxy.setPaused(false)
}
