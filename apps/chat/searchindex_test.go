package main

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// indexRows is how many rows room's full-text index holds, read from its file.
func (ts *testServer) indexRows(room string) int {
	ts.t.Helper()
	id, err := ts.rt.IDFromAddress("chat", room)
	if err != nil {
		ts.t.Fatal(err)
	}
	var n int
	if err := ts.rt.OpenDB(ts.t, "chat", id).QueryRow(`SELECT count(*) FROM messages_fts`).Scan(&n); err != nil {
		ts.t.Fatal(err)
	}
	return n
}

// TestSearchIndexFilledInBatches: messages wait for the full-text index until
// indexBatch of them wait or a search comes, and a search finds every live message
// as it is then, waiting or indexed, edited or deleted, also after a restart.
func TestSearchIndexFilledInBatches(t *testing.T) {
	ts := newTestServer(t, unlimited)
	a := ts.dial("r", "a", aliceQ)
	a.next("all")
	for i := range indexBatch - 1 {
		a.send(add(fmt.Sprintf("m%d", i), []string{"apple", "kiwi"}[i%2], "alice")) // m1 kiwi, m2 apple
		a.next("add")
	}
	if n := ts.indexRows("r"); n != 0 {
		t.Fatalf("%d index rows after %d messages, want 0 (indexed per batch)", n, indexBatch-1)
	}
	a.send(map[string]any{"type": "update", "id": "m1", "content": "pear", "user": "alice"})
	a.next("update")
	a.send(map[string]any{"type": TypeDelete, "id": "m2"})
	a.next("update")
	search := func(q string, want int) {
		t.Helper()
		a.send(map[string]any{"type": TypeSearch, "q": q})
		if f := a.next(TypeSearch); len(f.Messages) != want {
			t.Fatalf("search %q: %d results, want %d", q, len(f.Messages), want)
		}
	}
	search("apple", 31) // 32 less m2 (search returns at most 50)
	search("kiwi", 30)
	search("pear", 1)
	if n := ts.indexRows("r"); n != indexBatch-2 {
		t.Fatalf("%d index rows after the search, want %d", n, indexBatch-2)
	}
	// Waiting messages, then a batch: the indexBatch-th waiting message fills it.
	for i := range indexBatch + 5 {
		a.send(add(fmt.Sprintf("n%d", i), []string{"plum", "date"}[i%2], "alice"))
		a.next("add")
	}
	if n := ts.indexRows("r"); n != 2*indexBatch-2 {
		t.Fatalf("%d index rows, want %d", n, 2*indexBatch-2)
	}
	a.send(map[string]any{"type": "update", "id": "n0", "content": "fig", "user": "alice"}) // indexed: its row changes
	a.next("update")
	a.send(map[string]any{"type": TypeDelete, "id": "n1"})
	a.next("update")
	a.send(map[string]any{"type": TypeDelete, "id": fmt.Sprintf("n%d", indexBatch+4)}) // waiting
	a.next("update")
	ts.restart(unlimited)
	a = ts.dial("r", "a", aliceQ)
	a.next("all")
	search("plum", 33) // n0, n2, …, n68: 35, less n0 and n68
	search("date", 33) // n1, …, n67: 34, less n1
	search("fig", 1)
	search("apple", 31)
}

// BenchmarkRoomAdd is the room's work per message with 2 subscribers: one sender
// keeps 32 adds in flight (so turns share commits, as under load) and waits for
// its own echoes. user-µs/op and sys-µs/op are the process's CPU per message
// (server and the test's clients), from getrusage.
//
//	GOWORK=off go test -run '^$' -bench RoomAdd -benchtime 3000x .
func BenchmarkRoomAdd(b *testing.B) {
	ts := newTestServer(b, unlimited)
	a, o := ts.dial("r", "a", aliceQ), ts.dial("r", "o", bobQ)
	a.next("all")
	o.next("all")
	go func() { // the other subscriber only reads
		for {
			if _, _, err := o.conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	cpu := func() (user, sys time.Duration) {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
	}
	const window = 32
	user0, sys0 := cpu()
	sent, got := 0, 0
	for b.Loop() {
		for sent-got < window {
			a.send(add(fmt.Sprintf("m%d", sent), fmt.Sprintf("message number %d about apples and pears", sent), "alice"))
			sent++
		}
		a.next("add")
		got++
	}
	for ; got < sent; got++ {
		a.next("add")
	}
	user, sys := cpu()
	b.ReportMetric(float64((user-user0).Microseconds())/float64(sent), "user-µs/op")
	b.ReportMetric(float64((sys-sys0).Microseconds())/float64(sent), "sys-µs/op")
}
