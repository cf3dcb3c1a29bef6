package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// BenchmarkBroadcastWritePath measures the server's whole write path for a
// broadcast (turn → output gate → every socket's frames on the wire) with the
// subscribers in a child process, so the CPU it reports is the server's alone:
// one object, 1,000 subscribers, each op one turn that broadcasts `frames`
// 200-byte frames (frames=8 is a batch whose frames a socket can take in one
// write). It reports ns/delivery (wall) and cpu-ns/delivery (this process's user
// + system CPU ÷ deliveries), allocs/delivery (this process's) and frames/write
// (the frames each write system call carried, from /metrics), with 8 turns in
// flight.
//
// It uses only the server's public API and the test room, so the same file runs
// on a tree from before issue 16's write path (a write per frame per socket from
// a goroutine per socket) for a before/after in one run:
//
//	go test -c -o new.test ./server   # and old.test from the old tree
//	for i in 1 2 3 4 5 6; do for t in old new; do ./$t.test -test.run '^$' \
//	  -test.bench BroadcastWritePath -test.benchtime 300x | sed "s/^Benchmark/$t-Benchmark/"; done; done
func BenchmarkBroadcastWritePath(b *testing.B) {
	if addr := os.Getenv(subscriberAddrEnv); addr != "" {
		runSubscribers(addr) // this process is the child: it never returns
	}
	for _, k := range []int{1, 8} {
		b.Run(fmt.Sprintf("subscribers=1000/frames=%d", k), func(b *testing.B) { benchBroadcastWritePath(b, 1000, k) })
	}
}

const (
	subscriberAddrEnv  = "WARREN_BENCH_SUBSCRIBERS_ADDR"
	subscriberCountEnv = "WARREN_BENCH_SUBSCRIBERS_N"
	broadcastWindow    = 8 // turns in flight
)

func benchBroadcastWritePath(b *testing.B, n, frames int) {
	// The subscribers count frames and answer no pings: no ping during the run.
	h := start(b, server.Config{MaxConnsPerIP: 2 * n, PingInterval: time.Hour}, object.Config{})
	driver := h.dial("/parties/room/bw?_pk=driver")
	go func() { // the driver gets every broadcast too; drain it
		for {
			if _, _, err := driver.NextReader(); err != nil {
				return
			}
		}
	}()
	var got atomic.Int64 // frames the subscribers received
	child := startSubscribers(b, h.addr, n, &got)
	waitFor(b, "sockets", func() bool { return h.rt.SocketStats().Open == n+1 })
	perTurn := int64(frames * n)
	cmd := fmt.Sprintf("flood:%d:200", frames)
	writes0, out0 := h.metric("warren_socket_writes_total"), h.metric("warren_socket_messages_out_total")
	b.ResetTimer()
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	mallocs0 := mem.Mallocs
	cpu0, t0 := processCPU(), time.Now()
	sent := int64(0)
	// waitUntil waits for the subscribers to have received want frames; a frame
	// that never comes fails the benchmark instead of hanging it.
	waitUntil := func(want int64) {
		deadline := time.Now().Add(30 * time.Second)
		for got.Load() < want {
			if time.Now().After(deadline) {
				st := h.rt.SocketStats()
				b.Fatalf("delivered %d of %d frames in 30 s (sockets open %d, closed as slow consumers %d)",
					got.Load(), want, st.Open, st.SlowConsumers)
			}
			time.Sleep(20 * time.Microsecond)
		}
	}
	for b.Loop() {
		waitUntil((sent - broadcastWindow + 1) * perTurn)
		send(b, driver, cmd)
		sent++
	}
	waitUntil(sent * perTurn)
	wall, cpu := time.Since(t0), processCPU()-cpu0
	b.StopTimer()
	runtime.ReadMemStats(&mem)
	deliveries := float64(sent * perTurn)
	b.ReportMetric(float64(wall.Nanoseconds())/deliveries, "ns/delivery")
	b.ReportMetric(float64(cpu.Nanoseconds())/deliveries, "cpu-ns/delivery")
	b.ReportMetric(float64(mem.Mallocs-mallocs0)/deliveries, "allocs/delivery")
	if w := h.metric("warren_socket_writes_total") - writes0; w > 0 {
		b.ReportMetric((h.metric("warren_socket_messages_out_total")-out0)/w, "frames/write")
	}
	b.ReportMetric(0, "ns/op")
	child.stop()
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type subscriberProc struct {
	cmd   *exec.Cmd
	stdin io.Closer
	done  chan struct{}
}

func (p *subscriberProc) stop() {
	p.stdin.Close()
	<-p.done
	p.cmd.Wait()
}

// startSubscribers runs n subscribers in a child process (this test binary
// again) and keeps got at the count of text frames they received.
func startSubscribers(b *testing.B, addr string, n int, got *atomic.Int64) *subscriberProc {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^BenchmarkBroadcastWritePath$", "-test.benchtime=1x")
	cmd.Env = append(os.Environ(), subscriberAddrEnv+"="+addr, subscriberCountEnv+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &subscriberProc{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	b.Cleanup(func() { cmd.Process.Kill() })
	ready := make(chan error, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() && sc.Text() != "ready" { // the test binary's own header lines first
		}
		if sc.Text() != "ready" {
			ready <- fmt.Errorf("subscribers did not start")
			return
		}
		ready <- nil
		for sc.Scan() {
			if v, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
				got.Store(v)
			}
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			b.Fatal(err)
		}
	case <-time.After(time.Minute):
		b.Fatal("subscribers did not connect")
	}
	return p
}

// runSubscribers is the child: it opens the sockets, says "ready", counts the text
// frames they receive (parsing only frame headers) and prints the total whenever
// it grew, until its stdin closes.
func runSubscribers(addr string) {
	n, _ := strconv.Atoi(os.Getenv(subscriberCountEnv))
	var total atomic.Int64
	conns := make([]net.Conn, n)
	for i := range conns {
		ws, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("ws://%s/parties/room/bw?_pk=s%d", addr, i), nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "subscriber:", err)
			os.Exit(1)
		}
		conns[i] = ws.NetConn() // nothing arrives before the first broadcast, so gorilla buffered nothing
	}
	for _, c := range conns {
		go countTextFrames(c, &total)
	}
	fmt.Println("ready")
	go func() {
		last := int64(-1)
		for {
			if v := total.Load(); v != last {
				fmt.Println(v)
				last = v
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// countTextFrames reads server frames (never masked) and adds each text frame to total.
func countTextFrames(c net.Conn, total *atomic.Int64) {
	r := bufio.NewReaderSize(c, 64<<10)
	var hdr [8]byte
	for {
		b0, err := r.ReadByte()
		if err != nil {
			return
		}
		b1, err := r.ReadByte()
		if err != nil {
			return
		}
		size := int64(b1 & 0x7f)
		switch size {
		case 126:
			if _, err := io.ReadFull(r, hdr[:2]); err != nil {
				return
			}
			size = int64(hdr[0])<<8 | int64(hdr[1])
		case 127:
			if _, err := io.ReadFull(r, hdr[:8]); err != nil {
				return
			}
			size = 0
			for _, x := range hdr {
				size = size<<8 | int64(x)
			}
		}
		if _, err := r.Discard(int(size)); err != nil {
			return
		}
		if b0&0x0f == websocket.TextMessage {
			total.Add(1)
		}
	}
}
