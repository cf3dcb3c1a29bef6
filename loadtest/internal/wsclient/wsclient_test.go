package wsclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// server runs handler for each upgraded socket on a loopback httptest server.
func server(t *testing.T, handler func(*websocket.Conn)) string {
	t.Helper()
	up := websocket.Upgrader{WriteBufferSize: 512}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		handler(c)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/room?x=1"
}

func dial(t *testing.T, url string, opt Options) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestEchoSmallLargeFragmented(t *testing.T) {
	url := server(t, func(c *websocket.Conn) {
		for {
			op, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			// NextWriter with a 512-byte buffer fragments long messages.
			w, _ := c.NextWriter(op)
			w.Write(p)
			w.Close()
		}
	})
	c := dial(t, url, Options{ReadBufferSize: 256})
	for _, n := range []int{0, 1, 125, 126, 200, 65535, 65536, 300000} {
		msg := bytes.Repeat([]byte{'a' + byte(n%26)}, n)
		if err := c.WriteText(msg); err != nil {
			t.Fatal(err)
		}
		op, p, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if op != OpText || !bytes.Equal(p, msg) {
			t.Fatalf("n=%d: got op %d len %d", n, op, len(p))
		}
	}
	if err := c.WriteBinary([]byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if op, p, err := c.ReadMessage(); err != nil || op != OpBinary || !bytes.Equal(p, []byte{0, 1, 2}) {
		t.Fatalf("binary: %d %v %v", op, p, err)
	}
}

func TestPingAndClose(t *testing.T) {
	pong := make(chan string, 1)
	url := server(t, func(c *websocket.Conn) {
		c.SetPongHandler(func(s string) error { pong <- s; return nil })
		c.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second))
		c.WriteMessage(websocket.TextMessage, []byte("after ping"))
		go c.ReadMessage() // runs the pong handler
		if s := <-pong; s != "hi" {
			return
		}
		c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "bye"), time.Now().Add(time.Second))
		time.Sleep(100 * time.Millisecond)
	})
	c := dial(t, url, Options{})
	if _, p, err := c.ReadMessage(); err != nil || string(p) != "after ping" {
		t.Fatalf("got %q %v", p, err)
	}
	_, _, err := c.ReadMessage()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "bye" {
		t.Fatalf("err = %v, want close 4001", err)
	}
}

func TestTooLarge(t *testing.T) {
	url := server(t, func(c *websocket.Conn) {
		c.WriteMessage(websocket.TextMessage, make([]byte, 5000))
		time.Sleep(100 * time.Millisecond)
	})
	c := dial(t, url, Options{MaxMessage: 4000})
	if _, _, err := c.ReadMessage(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
}

func TestHandshakeStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusTooManyRequests)
	}))
	defer srv.Close()
	_, err := Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), Options{})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 429 || !errors.Is(err, ErrHandshake) {
		t.Fatalf("err = %v", err)
	}
}

func TestHandshakeStallEndsOnDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), Options{})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestReadMessageNoAlloc(t *testing.T) {
	frame := []byte{0x81, 5, 'h', 'e', 'l', 'l', 'o'}
	stream := bytes.Repeat(frame, 200)
	r := bytes.NewReader(stream)
	br := bufio.NewReaderSize(r, 4096)
	var msg []byte
	n := testing.AllocsPerRun(100, func() {
		if _, _, err := readMessage(br, nil, &msg, 1<<20); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocs per message", n)
	}
}

func FuzzReadMessage(f *testing.F) {
	f.Add([]byte{0x81, 5, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{0x01, 2, 'h', 'e', 0x89, 0, 0x80, 1, 'l'})
	f.Add([]byte{0x88, 2, 0x03, 0xe8})
	f.Add([]byte{0x82, 126, 0, 200})
	f.Add([]byte{0x82, 127, 0xff, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(b), 64)
		var msg []byte
		for range 100 {
			_, p, err := readMessage(br, nil, &msg, 1<<16)
			if err != nil {
				return
			}
			if len(p) > 1<<16 {
				t.Fatalf("message of %d bytes exceeds max", len(p))
			}
		}
	})
}

func BenchmarkReadMessage(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 120)
	var frame []byte
	frame = append(frame, 0x81, byte(len(payload)))
	frame = append(frame, payload...)
	stream := bytes.Repeat(frame, 1000)
	r := bytes.NewReader(stream)
	br := bufio.NewReaderSize(r, 4096)
	var msg []byte
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, _, err := readMessage(br, nil, &msg, 1<<20); err != nil {
			r.Reset(stream)
			br.Reset(r)
		}
	}
}
