// Command socket-rss measures the server's resident memory per idle, hibernated
// WebSocket. It serves a runtime/server in this process, opens -n sockets from a
// child process (spread over -objects objects and -addrs source addresses
// 127.0.0.x), evicts every object so that only the sockets remain, and reports
// (RSS after - RSS before) / n.
//
//	go run ./internal/cmd/socket-rss -n 10000
//
// Each socket needs one file descriptor in each process; -n is capped by the
// RLIMIT_NOFILE hard limit.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/internal/procrss"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

type room struct{}

func (room) OnConnect(ctx context.Context, ws *object.WebSocket, _ *http.Request) error {
	if err := ws.SetTags("user"); err != nil {
		return err
	}
	return ws.SetAttachmentJSON(map[string]string{"user": ws.ID(), "color": "#3366ff"})
}

func (room) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	return ws.Send(m)
}

func main() {
	n := flag.Int("n", 10000, "sockets")
	objects := flag.Int("objects", 100, "objects the sockets spread over")
	addrs := flag.Int("addrs", 4, "client source addresses 127.0.0.1 .. 127.0.0.<addrs>")
	client := flag.String("client", "", "internal: run as the client process against this address")
	memprofile := flag.String("memprofile", "", "write a heap profile of the server to this file")
	flag.Parse()
	raiseNoFile()
	if *client != "" {
		runClient(*client, *n, *objects, *addrs)
		return
	}

	dir, err := os.MkdirTemp("", "socket-rss")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := object.New(object.Config{DataDir: dir, Logger: quiet, IdleTimeout: -1})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	ns, err := object.Register(rt, "room", func(context.Context, *object.State) (*room, error) { return &room{}, nil })
	if err != nil {
		log.Fatal(err)
	}
	s := server.New(rt, server.Config{MaxConnsPerIP: *n + 1})
	s.Mount(ns)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Serve(ctx, ln)

	settle()
	before := rss()
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "-client", ln.Addr().String(), "-n", strconv.Itoa(*n), "-objects", strconv.Itoa(*objects), "-addrs", strconv.Itoa(*addrs))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		log.Fatalf("client: %q %v", line, err)
	}
	for rt.SocketStats().Open < *n {
		time.Sleep(10 * time.Millisecond)
	}
	connected := time.Since(t0)
	rt.EvictIdle(0)
	time.Sleep(2 * time.Second)
	settle()
	after := rss()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := rt.SocketStats()
	fmt.Printf("sockets %d over %d objects (%d hibernated), %d source addresses, connected in %v\n", st.Open, *objects, st.Hibernated, *addrs, connected.Round(time.Millisecond))
	fmt.Printf("RSS before %.1f MiB, after %.1f MiB: %.2f KiB per socket\n", mib(before), mib(after), float64(after-before)/1024/float64(*n))
	fmt.Printf("Go heap in use %.1f MiB, goroutine stacks %.1f MiB, goroutines %d\n", mib(int64(ms.HeapInuse)), mib(int64(ms.StackInuse)), runtime.NumGoroutine())
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	stdin.Close()
	cmd.Wait()
}

func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// rss returns the process's resident set size in bytes.
func rss() int64 {
	n := procrss.Of(0)
	if n == 0 {
		log.Fatal("no VmRSS")
	}
	return n
}

func raiseNoFile() {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err == nil {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// runClient opens n sockets, answers pings, prints "ready" and waits for stdin to close.
func runClient(addr string, n, objects, addrs int) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	conns := make([]*websocket.Conn, n)
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d := websocket.Dialer{NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%addrs))}}).DialContext,
				ReadBufferSize: 256, WriteBufferSize: 256}
			url := fmt.Sprintf("ws://%s/parties/room/r%d?_pk=c%d", addr, i%objects, i)
			for try := 0; ; try++ {
				c, _, err := d.Dial(url, nil)
				if err == nil {
					conns[i] = c
					go func() {
						for {
							if _, _, err := c.ReadMessage(); err != nil {
								return
							}
						}
					}()
					return
				}
				if try == 5 {
					log.Fatalf("client %d: %v", i, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
}
