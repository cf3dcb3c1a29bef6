//go:build linux

package main

import (
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
	"github.com/warrenhq/warren/runtime/browsertest"
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
		bin = browsertest.BuildBinary(b, ".")
	}
	const clients, items = 16, 25000
	updates := make([][]byte, clients)
	for i := range updates {
		updates[i] = syncFrame(syncUpdate, insertsAtStart(uint64(2000-i), items))
	}
	for b.Loop() {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, "-addr", addr, "-data", b.TempDir())
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		defer cmd.Process.Kill()
		url := "http://" + addr
		for deadline := time.Now().Add(20 * time.Second); ; {
			if resp, err := http.Get(url + "/healthz"); err == nil && resp.StatusCode == 200 {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("server not healthy")
			}
			time.Sleep(50 * time.Millisecond)
		}
		before := procKB(b, cmd.Process.Pid, "VmRSS")
		refused := 0
		for _, u := range updates {
			c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/parties/document/flood", nil)
			if err != nil {
				b.Fatal(err)
			}
			c.WriteMessage(websocket.BinaryMessage, u)
			c.WriteMessage(websocket.BinaryMessage, syncFrame(syncStep1, []byte{0}))
			for { // until the server's answer to the step 1 (the update handled), or a close
				_, m, err := c.ReadMessage()
				if err != nil {
					refused++
					break
				}
				if f, _ := decodeFrame(m); f.Type == msgSync && f.SyncType == syncStep2 && len(f.Payload) > 2 {
					break
				}
			}
			c.Close()
		}
		j, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/parties/document/flood", nil)
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
		b.ReportMetric(float64(procKB(b, cmd.Process.Pid, "VmHWM"))/1024, "MB-RSS-peak")
		b.ReportMetric(float64(clients-refused)*items, "items-accepted")
		b.ReportMetric(float64(catchUp)/1024, "KB-catch-up")
	}
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
