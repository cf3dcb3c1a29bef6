//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// BenchmarkItemFloodRSS is issue 14 finding 3 (the Yjs part), measured on the
// real binary: 16 clients each send 25,000 items (400,000 in all, typed
// backwards so that none merge; the clients' IDs descend, the order in which
// y-crdt integrates them fast, to measure memory, not the quadratic case) to
// one document, then one joiner syncs. It
// reports the server's resident memory before, its peak, and the items the
// document accepted (the rest refused by MaxDocumentStructs, each sender closed
// with 4413). COLLAB_EDITOR_BIN runs another build (for a before/after).
//
//	GOWORK=off go test -run '^$' -bench ItemFloodRSS -benchtime 1x .
func BenchmarkItemFloodRSS(b *testing.B) {
	bin := os.Getenv("COLLAB_EDITOR_BIN")
	if bin == "" {
		bin = objecttest.BuildBinary(b, ".")
	}
	const clients, items = 16, 25000
	updates := make([][]byte, clients)
	for i := range updates {
		updates[i] = syncFrame(syncUpdate, insertsAtStart(uint64(2000-i), items))
	}
	for b.Loop() {
		addr, pid := startBinary(b, bin)
		before := procKB(b, pid, "VmRSS")
		accepted, refused := 0, 0
		for _, u := range updates {
			c, _, err := websocket.DefaultDialer.Dial(objecttest.PartyURL("ws://"+addr, "document", "flood", ""), nil)
			if err != nil {
				b.Fatal(err)
			}
			c.WriteMessage(websocket.BinaryMessage, u)
			waitUntil(b, "the update stored or refused", func() bool {
				if statsOf(b, addr, "flood").LastSeq == int64(accepted+1) {
					accepted++
					return true
				}
				c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if _, _, err := c.ReadMessage(); websocket.IsCloseError(err, 4413) {
					refused++
					return true
				}
				return false
			})
			c.Close()
		}
		j, _, err := websocket.DefaultDialer.Dial(objecttest.PartyURL("ws://"+addr, "document", "flood", ""), nil)
		if err != nil {
			b.Fatal(err)
		}
		j.WriteMessage(websocket.BinaryMessage, syncFrame(syncStep1, []byte{0}))
		catchUp := 0
		for catchUp == 0 {
			_, m, err := j.ReadMessage()
			if err != nil {
				b.Fatal(err)
			}
			if f, _ := decodeFrame(m); f.Type == msgSync && f.SyncType == syncStep2 {
				catchUp = len(f.Payload)
			}
		}
		j.Close()
		b.ReportMetric(float64(before)/1024, "MB-RSS-before")
		b.ReportMetric(float64(procKB(b, pid, "VmHWM"))/1024, "MB-RSS-peak")
		b.ReportMetric(float64(accepted)*items, "items-accepted")
		b.ReportMetric(float64(refused), "senders-refused")
		b.ReportMetric(float64(catchUp)/1024, "KB-catch-up")
	}
}

// BenchmarkJoinerFloodRSS is issue 14 finding 3 (catch-ups): a 3 MB document,
// then 100 joiners from one address that ask for everything and never read.
// Each held its own copy of the catch-up until its pings timed out (52 MB to
// 355 MB); now the address's catch-up budget for the document
// (Policy.CatchUpBurst, CatchUpRate) closes the rest with 4429. It reports the
// server's resident memory before the joiners and 5 s after, and how many got
// their catch-up.
//
//	GOWORK=off go test -run '^$' -bench JoinerFloodRSS -benchtime 1x .
func BenchmarkJoinerFloodRSS(b *testing.B) {
	bin := os.Getenv("COLLAB_EDITOR_BIN")
	if bin == "" {
		bin = objecttest.BuildBinary(b, ".")
	}
	for b.Loop() {
		addr, pid := startBinary(b, bin)
		for i := range 12 { // 12 clients of 250 KB each
			c, _, err := websocket.DefaultDialer.Dial(objecttest.PartyURL("ws://"+addr, "document", "big", ""), nil)
			if err != nil {
				b.Fatal(err)
			}
			d := newYDoc()
			d.doc.GetText(TextName).Insert(0, strings.Repeat("j", 250<<10), nil)
			u, _ := d.Diff(nil)
			c.WriteMessage(websocket.BinaryMessage, syncFrame(syncUpdate, u))
			waitUntil(b, "stored", func() bool { return statsOf(b, addr, "big").LastSeq == int64(i+1) })
			c.Close()
		}
		before := procKB(b, pid, "VmRSS")
		served := 0
		var conns []*websocket.Conn
		for range 100 {
			c, _, err := websocket.DefaultDialer.Dial(objecttest.PartyURL("ws://"+addr, "document", "big", ""), nil)
			if err != nil {
				b.Fatal(err)
			}
			c.WriteMessage(websocket.BinaryMessage, syncFrame(syncStep1, []byte{0}))
			conns = append(conns, c)
		}
		time.Sleep(5 * time.Second) // the catch-ups queued (a measurement, not a test)
		after := procKB(b, pid, "VmRSS")
		for _, c := range conns {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			for {
				_, m, err := c.ReadMessage()
				if err != nil {
					break
				}
				if f, _ := decodeFrame(m); f.Type == msgSync && f.SyncType == syncStep2 {
					served++
					break
				}
			}
			c.Close()
		}
		b.ReportMetric(float64(before)/1024, "MB-RSS-before")
		b.ReportMetric(float64(after)/1024, "MB-RSS-joiners")
		b.ReportMetric(float64(served), "joiners-served")
	}
}

// startBinary starts the app's binary on a free loopback port with a fresh data
// directory, until the benchmark ends, and returns its address and process ID.
func startBinary(b *testing.B, bin string) (addr string, pid int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "-addr", addr, "-data", b.TempDir())
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitUntil(b, "healthy", func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	return addr, cmd.Process.Pid
}

// statsOf reads a document's stats from a server at addr.
func statsOf(b *testing.B, addr, doc string) Stats {
	var s Stats
	resp, err := http.Get("http://" + addr + objecttest.PartyPath("document", doc) + "/stats")
	if err != nil {
		return s
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(&s)
	return s
}

// procKB reads a "Vm..." field (in kB) of /proc/<pid>/status.
func procKB(b *testing.B, pid int, field string) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
