// Command abuse-rss measures the dashboard binary's resident memory under one
// client's abuse (issue 14): it starts the binary on a free loopback port with a
// fresh data directory, samples its RSS every 50 ms, runs one attack from 127.0.0.1
// for -hold, and reports the RSS before, at its peak and after, with what the attack
// got and how a bystander on 127.0.0.2 (POSTing an event every 200 ms) was served
// meanwhile. The connection-level attacks (idle, slow-bodies) apply to every app.
//
//	go run ./internal/cmd/abuse-rss -bin ../bin/dashboard -attack idle -n 1010
//	go run ./internal/cmd/abuse-rss -bin ../bin/dashboard -attack slow-bodies -n 300
//	go run ./internal/cmd/abuse-rss -bin ../bin/dashboard -attack viewers -n 15 -series 1000
//
// Attacks: idle (n kept-alive connections that send nothing more), slow-bodies (n
// POSTs announcing 1 MiB that send 1 MiB − 1 byte and stall), viewers (n dashboard
// viewers with ?window=3600 that never read, after filling -series series with 10
// minutes of events).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/internal/procrss"
)

func main() {
	bin := flag.String("bin", "", "app binary (it must take -addr and -data)")
	attack := flag.String("attack", "idle", "idle, slow-bodies or viewers")
	n := flag.Int("n", 300, "connections of the attack")
	hold := flag.Duration("hold", 20*time.Second, "how long the attack holds its connections")
	series := flag.Int("series", 1000, "viewers: series filled before the viewers connect")
	stream := flag.String("stream", "abuse", "viewers, slow-bodies: the dashboard stream used")
	flag.Parse()
	if *bin == "" {
		log.Fatal("-bin is required")
	}
	raiseNoFile()
	addr, pid, stop := startApp(*bin)
	defer stop()
	rss := newSampler(pid)
	base := rss.now()
	start := time.Now()
	var got map[string]int
	switch *attack {
	case "idle":
		got = idle(addr, *n)
	case "slow-bodies":
		got = slowBodies(addr, *stream, *n)
	case "viewers":
		fill(addr, *stream, *series)
		base = rss.now()
		got = viewers(addr, *stream, *n)
	default:
		log.Fatalf("unknown attack %q", *attack)
	}
	bystander := bystanderLatency(addr, *stream, *hold)
	peak := rss.peak()
	fmt.Printf("attack %s, n=%d, held %v: results %v\n", *attack, *n, *hold, got)
	fmt.Printf("bystander (127.0.0.2) during the attack: %s\n", bystander)
	fmt.Printf("server RSS: %.1f MiB before, %.1f MiB peak, %.1f MiB at the end (%v)\n",
		mib(base), mib(peak), mib(rss.now()), time.Since(start).Round(time.Second))
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func raiseNoFile() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// startApp runs bin on a free port and waits for /healthz.
func startApp(bin string) (addr string, pid int, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	dir, err := os.MkdirTemp("", "abuse-rss")
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command(bin, "-addr", addr, "-data", filepath.Join(dir, "data"), "-log-level", "error")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	for i := 0; ; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if i > 300 {
			log.Fatal("the app did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return addr, cmd.Process.Pid, func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		os.RemoveAll(dir)
	}
}

// sampler records a process's peak RSS.
type sampler struct {
	pid int
	max atomic.Int64
}

func newSampler(pid int) *sampler {
	s := &sampler{pid: pid}
	go func() {
		for {
			if v := s.now(); v > s.max.Load() {
				s.max.Store(v)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return s
}

func (s *sampler) peak() int64 { return max(s.max.Load(), s.now()) }

func (s *sampler) now() int64 { return procrss.Of(s.pid) }

func dialFrom(src, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return d.Dial("tcp", addr)
}

// tally counts outcomes by name, safely from many goroutines.
type tally struct {
	mu sync.Mutex
	m  map[string]int
}

func (t *tally) add(k string) { t.mu.Lock(); t.m[k]++; t.mu.Unlock() }

func status(br *bufio.Reader) string {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return "no answer"
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return strconv.Itoa(resp.StatusCode)
}

var held []net.Conn // kept open (and referenced) until the process ends

func idle(addr string, n int) map[string]int {
	t := &tally{m: map[string]int{}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialFrom("127.0.0.1", addr)
			if err != nil {
				t.add("dial error")
				return
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
			t.add(status(bufio.NewReader(c)))
			c.SetDeadline(time.Time{})
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return t.m
}

func slowBodies(addr, stream string, n int) map[string]int {
	t := &tally{m: map[string]int{}}
	body := bytes.Repeat([]byte{' '}, 1<<20-1)
	var mu sync.Mutex
	for range n {
		go func() {
			c, err := dialFrom("127.0.0.1", addr)
			if err != nil {
				t.add("dial error")
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			go func() {
				fmt.Fprintf(c, "POST /parties/stream/%s/events HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n", stream, addr, 1<<20)
				c.Write(body)
			}()
			t.add(status(bufio.NewReader(c)))
		}()
	}
	time.Sleep(3 * time.Second) // the 429s arrive at once; the admitted ones wait for ReadTimeout
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]int{}
	for k, v := range t.m {
		out[k] = v
	}
	return out
}

// fill ingests n series with an event every second of the last 10 minutes.
func fill(addr, stream string, n int) {
	now := time.Now().UnixMilli()
	var b strings.Builder
	send := func() {
		resp, err := http.Post("http://"+addr+"/parties/stream/"+stream+"/events", "application/json", strings.NewReader(b.String()))
		if err != nil {
			log.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			log.Fatalf("fill: %d %s", resp.StatusCode, msg)
		}
		b.Reset()
	}
	lines := 0
	for sec := int64(590); sec >= 0; sec-- {
		for i := range n {
			fmt.Fprintf(&b, "{\"name\":\"series_%04d\",\"value\":%d.123456789,\"ts\":%d}\n", i, i, now-sec*1000)
			if lines++; lines == 10000 {
				send()
				lines = 0
			}
		}
	}
	if lines > 0 {
		send()
	}
}

func viewers(addr, stream string, n int) map[string]int {
	t := &tally{m: map[string]int{}}
	for range n {
		d := websocket.Dialer{NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}}).DialContext,
			ReadBufferSize: 1024}
		c, resp, err := d.Dial("ws://"+addr+"/parties/stream/"+stream+"?window=3600", nil)
		if err != nil {
			code := 0
			if resp != nil {
				code = resp.StatusCode
			}
			t.add(fmt.Sprintf("refused %d", code))
			continue
		}
		c.UnderlyingConn().(*net.TCPConn).SetReadBuffer(4096) // and never read
		held = append(held, c.UnderlyingConn())
		t.add("connected")
	}
	return t.m
}

// bystanderLatency sends a request from 127.0.0.2 every 200 ms for d and reports
// the latency percentiles and failures.
func bystanderLatency(addr, stream string, d time.Duration) string {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
	var lat []time.Duration
	fails := 0
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		start := time.Now()
		resp, err := c.Post("http://"+addr+"/parties/stream/bystander/events", "application/json", strings.NewReader(`{"name":"ok","value":1}`))
		if err != nil || resp.StatusCode != http.StatusAccepted {
			fails++
			if resp != nil {
				resp.Body.Close()
			}
			continue
		}
		resp.Body.Close()
		lat = append(lat, time.Since(start))
	}
	if len(lat) == 0 {
		return fmt.Sprintf("no answer (%d failures)", fails)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return fmt.Sprintf("%d POSTs answered, p50 %v, max %v, %d failed", len(lat), lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), fails)
}
