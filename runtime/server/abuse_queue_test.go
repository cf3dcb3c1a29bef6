package server_test

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// TestAbuseQueueFloodSparesBystanders pins issue 14's leftover of finding 10: one
// client with a few sockets filled an object's queue (Config.MaxQueue) with slow
// messages, and a bystander of the same object, from another address, was refused
// (its connect or its next message) and closed with 1013. Now each client address has
// a bounded share of the object's queue (Config.MaxQueuePerAddress): the
// flooder's sockets are read no faster than its share drains, and the bystander's
// messages are all answered. Fails on the code before the fix (the bystander closed
// with 1013).
func TestAbuseQueueFloodSparesBystanders(t *testing.T) {
	h := start(t, server.Config{}, object.Config{MaxQueue: 64,
		MaxQueuePerAddress: 16,
		Sockets:            object.SocketConfig{InboundQueue: 32}})
	// 16 sockets of one address, each keeping 40 slow messages unanswered (more than
	// its 32 in the object: 512 in all, 8 times the queue), reconnecting when closed.
	stop := make(chan struct{})
	var sent atomic.Int64
	flooders := loopUntil(stop, 16, func(i int) {
		c, _, err := dialFrom(h, "127.0.0.1", fmt.Sprintf("/parties/room/q?_pk=flooder%d", i), nil)
		if err != nil {
			return // refused: the queue was full (before the fix)
		}
		flood(c, 40, stop, &sent)
		c.Close()
	})
	defer flooders.Wait()
	defer close(stop)
	waitFor(t, "the flood to be under way", func() bool { return sent.Load() >= 1024 })
	bystander, code, err := dialFrom(h, "127.0.0.2", "/parties/room/q?_pk=bystander", nil)
	if err != nil {
		t.Fatalf("bystander connect during the flood: %d %v", code, err)
	}
	defer bystander.Close()
	for i := range 5 {
		start := time.Now()
		bystander.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := bystander.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
			t.Fatalf("bystander send %d: %v", i, err)
		}
		_, b, err := bystander.ReadMessage()
		if err != nil {
			t.Fatalf("bystander message %d during the flood (%d flood messages sent): %v", i, sent.Load(), err)
		}
		if string(b) != "echo:hello" {
			t.Fatalf("bystander got %q", b)
		}
		t.Logf("bystander round trip %d: %v, %v turns run", i, time.Since(start).Round(time.Millisecond), h.metric("warren_turns_total"))
	}
}

// flood keeps window "slow:2" messages unanswered on c until stop or an error.
func flood(c *websocket.Conn, window int, stop <-chan struct{}, sent *atomic.Int64) {
	answered := make(chan struct{}, window)
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				close(answered)
				return
			}
			answered <- struct{}{}
		}
	}()
	for range window {
		if c.WriteMessage(websocket.TextMessage, []byte("slow:2")) != nil {
			return
		}
		sent.Add(1)
	}
	for {
		select {
		case <-stop:
			return
		case _, ok := <-answered:
			if !ok || c.WriteMessage(websocket.TextMessage, []byte("slow:2")) != nil {
				return
			}
			sent.Add(1)
		}
	}
}

// TestAbuseHTTPQueueFloodSparesBystanders is TestAbuseQueueFloodSparesBystanders for
// HTTP: 100 clients of one address looping slow requests (5 ms a turn) to one object
// kept its queue (64, batches of 16) full, and a bystander's request from another
// address got 503.
// Now the address's requests beyond its share (Config.MaxQueuePerAddress) get 503
// themselves and the bystander's are served. Fails on the code before the fix.
func TestAbuseHTTPQueueFloodSparesBystanders(t *testing.T) {
	h := start(t, server.Config{}, object.Config{MaxQueue: 64, MaxBatch: 16, MaxQueuePerAddress: 16})
	stop := make(chan struct{})
	var served, refused atomic.Int64
	flooder := clientFrom("127.0.0.1")
	flooder.Transport.(*http.Transport).MaxIdleConnsPerHost = 100
	flooders := loopUntil(stop, 100, func(int) {
		resp, err := flooder.Get("http://" + h.addr + "/parties/room/hq?slow=5")
		if err != nil {
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			served.Add(1)
		} else {
			refused.Add(1)
		}
	})
	defer flooders.Wait()
	defer close(stop)
	waitFor(t, "the flood to be refused", func() bool { return refused.Load() >= 100 })
	for i := range 5 {
		start := time.Now()
		if code, body := h.getFrom("127.0.0.2", "/parties/room/hq"); code != http.StatusOK {
			t.Fatalf("bystander request %d during the flood (%d flood requests served, %d refused): %d %s", i, served.Load(), refused.Load(), code, body)
		}
		t.Logf("bystander request %d: %v", i, time.Since(start).Round(time.Millisecond))
	}
}

// loopUntil runs f(i) over and over in n goroutines (i from 0 to n-1) until stop is
// closed; wait on the group it returns.
func loopUntil(stop <-chan struct{}, n int, f func(i int)) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				f(i)
			}
		}()
	}
	return &wg
}
