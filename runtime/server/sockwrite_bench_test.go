package server

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/internal/wshost"
)

// BenchmarkSocketWrites compares, in one run, the two ways of writing a broadcast's
// frames to 100 loopback sockets whose clients drain them:
//
//   - path=gorilla-per-frame (before issue 16): each socket encodes each frame and
//     writes it with a system call of its own, after setting a write deadline
//     (melody's write pump: SetWriteDeadline + gorilla WriteMessage per frame);
//   - path=shared-coalesced (now): each frame is encoded once for every socket
//     (wshost.Frame.Wire), and a socket's frames of the round go out in one write
//     that never waits (sockwrite.go).
//
// frames is how many frames each socket gets per round (a batch's broadcasts). One
// op is one round; ns/delivery is the time per frame per socket.
//
//	go test -run '^$' -bench SocketWrites -count 6 ./server | benchstat -col /path -
func BenchmarkSocketWrites(b *testing.B) {
	const socks = 100
	conns := benchConns(b, socks)
	payload := bytes.Repeat([]byte("x"), 200)
	for _, k := range []int{1, 8} {
		b.Run(fmt.Sprintf("frames=%d/path=gorilla-per-frame", k), func(b *testing.B) {
			for b.Loop() {
				for _, c := range conns {
					for range k {
						c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
						if err := c.ws.WriteMessage(websocket.TextMessage, payload); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*k*socks), "ns/delivery")
		})
		b.Run(fmt.Sprintf("frames=%d/path=shared-coalesced", k), func(b *testing.B) {
			frames := make([]*wshost.Frame, k)
			for b.Loop() {
				for i := range frames {
					frames[i] = &wshost.Frame{Data: payload}
				}
				for _, c := range conns {
					buf, pooled := assemble(nil, nil, frames, nil)
					n, err := c.raw.tryWrite(buf)
					if err == nil && n < len(buf) {
						_, err = c.nc.Write(buf[n:]) // the client fell behind: wait for it
					}
					release(pooled)
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*k*socks), "ns/delivery")
		})
	}
}

type benchConn struct {
	ws  *websocket.Conn
	nc  net.Conn
	raw *rawWriter
}

// benchConns opens n WebSockets on loopback and returns their server ends; the
// client ends read and discard everything until the benchmark ends.
func benchConns(b *testing.B, n int) []benchConn {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	got := make(chan *websocket.Conn)
	up := websocket.Upgrader{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err == nil {
			got <- ws
		}
	})}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	out := make([]benchConn, n)
	for i := range out {
		cl, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/", nil)
		if err != nil {
			b.Fatal(err)
		}
		go io.Copy(io.Discard, cl.NetConn())
		b.Cleanup(func() { cl.Close() })
		ws := <-got
		raw, err := ws.NetConn().(syscall.Conn).SyscallConn()
		if err != nil {
			b.Fatal(err)
		}
		out[i] = benchConn{ws: ws, nc: ws.NetConn(), raw: newRawWriter(raw)}
	}
	return out
}
