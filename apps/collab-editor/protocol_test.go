package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	y "github.com/skyterra/y-crdt"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
	"github.com/warrenhq/warren/runtime/server"
)

// testServer runs the app on loopback with a fake clock.
type testServer struct {
	t   testing.TB
	rt  *objecttest.Runtime
	srv *httptest.Server
	p   Policy
}

func newTestServer(t testing.TB, p Policy) *testServer {
	t.Helper()
	ts := &testServer{t: t, rt: objecttest.New(t, object.Config{}), p: p}
	ts.start()
	return ts
}

func (ts *testServer) start() {
	s := server.New(ts.rt.Runtime, server.Config{})
	if err := setup(ts.p)(ts.rt.Runtime, s); err != nil {
		ts.t.Fatal(err)
	}
	ts.srv = httptest.NewServer(s)
	ts.t.Cleanup(ts.srv.Close)
}

func (ts *testServer) restart() {
	ts.srv.CloseClientConnections()
	ts.srv.Close()
	ts.rt = ts.rt.Restart(ts.t, object.Config{})
	ts.start()
}

func (ts *testServer) get(path string) (int, []byte) {
	ts.t.Helper()
	resp, err := http.Get(ts.srv.URL + path)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (ts *testServer) post(path string, v any) (int, []byte) {
	ts.t.Helper()
	body, _ := json.Marshal(v)
	resp, err := http.Post(ts.srv.URL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// createDoc creates a listed document through the API.
func (ts *testServer) createDoc(title string) DocInfo {
	ts.t.Helper()
	code, body := ts.post("/api/docs", map[string]string{"title": title})
	var d DocInfo
	if code != 200 || json.Unmarshal(body, &d) != nil || d.ViewToken == "" || d.Name == "" {
		ts.t.Fatalf("create: %d %s", code, body)
	}
	return d
}

func (ts *testServer) stats(doc string) Stats {
	ts.t.Helper()
	code, b := ts.get(objecttest.PartyPath("document", doc) + "/stats")
	var s Stats
	if code != 200 || json.Unmarshal(b, &s) != nil {
		ts.t.Fatalf("stats: %d %s", code, b)
	}
	return s
}

// statsWithin is stats with a deadline: the zero Stats when the document does
// not answer within d.
func (ts *testServer) statsWithin(doc string, d time.Duration) Stats {
	ts.t.Helper()
	var s Stats
	resp, err := (&http.Client{Timeout: d}).Get(ts.srv.URL + objecttest.PartyPath("document", doc) + "/stats")
	if err != nil {
		return s
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(&s)
	return s
}

// yclient is a Yjs peer in Go: a y-crdt doc synced over the y-websocket protocol.
type yclient struct {
	t    testing.TB
	conn *websocket.Conn
	wmu  sync.Mutex // gorilla allows one writer at a time

	mu        sync.Mutex
	doc       *ydoc
	raw       bool // records frames without applying them to doc
	synced    bool
	closeCode int
	frames    [][]byte // every frame received, in order
	changed   chan struct{}
}

func (ts *testServer) dial(path string) *yclient {
	ts.t.Helper()
	return ts.dialWith(path, false, newYDoc())
}

// redial connects c's document again (a reconnect: it syncs what it holds).
func (ts *testServer) redial(path string, c *yclient) *yclient {
	ts.t.Helper()
	return ts.dialWith(path, false, c.doc)
}

// dialRaw dials a client that records what it receives without integrating it
// (a bystander that y-crdt's slow paths cannot hold up).
func (ts *testServer) dialRaw(path string) *yclient {
	ts.t.Helper()
	return ts.dialWith(path, true, newYDoc())
}

func (ts *testServer) dialWith(path string, raw bool, doc *ydoc) *yclient {
	ts.t.Helper()
	u := "ws" + strings.TrimPrefix(ts.srv.URL, "http") + path
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		ts.t.Fatalf("dial %s: %v (%v)", u, err, resp)
	}
	c := &yclient{t: ts.t, conn: conn, doc: doc, raw: raw, changed: make(chan struct{}, 1)}
	ts.t.Cleanup(func() { conn.Close() })
	go c.read()
	sv, _ := c.doc.StateVector()
	c.write(syncFrame(syncStep1, sv))
	return c
}

// dialSynced dials path and waits until the client has synced.
func (ts *testServer) dialSynced(path string) *yclient {
	ts.t.Helper()
	c := ts.dial(path)
	c.waitFor("sync", func() bool { return c.synced })
	return c
}

func (c *yclient) write(b []byte) {
	c.t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.conn.WriteMessage(websocket.BinaryMessage, b); err != nil && !c.closed() {
		c.t.Fatal(err)
	}
}

// closed reports whether the server closed the socket.
func (c *yclient) closed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode != 0
}

func (c *yclient) read() {
	for {
		_, b, err := c.conn.ReadMessage()
		c.mu.Lock()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				c.closeCode = ce.Code
			} else {
				c.closeCode = 1006
			}
			c.mu.Unlock()
			c.notify()
			return
		}
		c.frames = append(c.frames, b)
		f, err := decodeFrame(b)
		if err == nil && f.Type == msgSync {
			switch {
			case f.SyncType == syncStep2:
				c.synced = true
			case c.raw:
			case f.SyncType == syncStep1:
				diff, _ := c.doc.Diff(f.Payload)
				c.wmu.Lock()
				c.conn.WriteMessage(websocket.BinaryMessage, syncFrame(syncStep2, diff))
				c.wmu.Unlock()
			}
			if !c.raw && f.SyncType != syncStep1 {
				c.doc.Apply(f.Payload)
			}
		}
		c.mu.Unlock()
		c.notify()
	}
}

func (c *yclient) notify() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// edit applies f to the client's text and sends the resulting update.
func (c *yclient) edit(f func(t *y.YText)) {
	c.t.Helper()
	c.mu.Lock()
	sv, _ := c.doc.StateVector()
	f(c.doc.doc.GetText(TextName))
	u, _ := c.doc.Diff(sv)
	c.mu.Unlock()
	c.write(syncFrame(syncUpdate, u))
}

func (c *yclient) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, _ := c.doc.Text()
	return s
}

// waitFor waits until cond holds (checked under the client's lock).
func (c *yclient) waitFor(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		ok := cond()
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-c.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			c.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (c *yclient) waitText(want string) {
	c.t.Helper()
	c.waitFor("text "+want, func() bool { s, _ := c.doc.Text(); return s == want })
}

func insert(at int, s string) func(*y.YText) { return func(t *y.YText) { t.Insert(at, s, nil) } }

func TestSyncRelayLateJoiner(t *testing.T) {
	ts := newTestServer(t, Policy{})
	a := ts.dial("/parties/document/d1")
	b := ts.dial("/parties/document/d1")
	a.waitFor("sync", func() bool { return a.synced })
	b.waitFor("sync", func() bool { return b.synced })
	a.edit(insert(0, "hello"))
	b.waitText("hello")
	b.edit(insert(5, " world"))
	a.waitText("hello world")
	c := ts.dial("/parties/document/d1")
	c.waitText("hello world")
	if code, body := ts.get("/parties/document/d1/text"); code != 200 || string(body) != "hello world" {
		t.Fatalf("text = %d %q", code, body)
	}
	// another document is independent
	d := ts.dial("/parties/document/d2")
	d.waitFor("sync", func() bool { return d.synced })
	if d.text() != "" {
		t.Fatalf("d2 = %q", d.text())
	}
}

func TestCompactionAndRestart(t *testing.T) {
	ts := newTestServer(t, Policy{})
	a := ts.dial("/parties/document/doc")
	a.waitFor("sync", func() bool { return a.synced })
	want := ""
	for i := range 20 {
		s := string(rune('a' + i))
		a.edit(insert(len(want), s))
		want += s
	}
	b := ts.dial("/parties/document/doc")
	b.waitText(want)
	if s := ts.stats("doc"); s.LogRows != 20 {
		t.Fatalf("before compaction: %+v", s)
	}
	ts.rt.Clock.Advance(3 * time.Second) // 2 s quiet
	waitUntil(t, "compaction", func() bool { return ts.stats("doc").LogRows == 0 })
	ts.restart()
	c := ts.dial("/parties/document/doc")
	c.waitText(want)
	seq := ts.stats("doc").LastSeq
	c.edit(insert(0, ">"))
	waitUntil(t, "stored", func() bool { return ts.stats("doc").LastSeq == seq+1 })
	ts.restart()
	d := ts.dial("/parties/document/doc")
	d.waitText(">" + want)
	if s := ts.stats("doc"); s.LogRows != 1 {
		t.Fatalf("after restart: %+v", s)
	}
}

func TestCompactionBySize(t *testing.T) {
	ts := newTestServer(t, Policy{CompactRows: 10})
	a := ts.dial("/parties/document/doc")
	a.waitFor("sync", func() bool { return a.synced })
	for i := range 25 {
		a.edit(insert(i, "x"))
	}
	waitUntil(t, "rows", func() bool { return ts.stats("doc").LastSeq == 25 })
	if s := ts.stats("doc"); s.LogRows != 5 || s.Compactions != 2 {
		t.Fatalf("stats %+v", s)
	}
	b := ts.dial("/parties/document/doc")
	b.waitText(strings.Repeat("x", 25))
}

// TestOutOfOrderDelete: a delete that arrives before its insert is stored,
// relayed and compacted like any update (it is part of the merged state); once
// the insert arrives, joiners and the server's text show both.
func TestOutOfOrderDelete(t *testing.T) {
	ts := newTestServer(t, Policy{})
	src := newYDoc()
	sv0, _ := src.StateVector()
	src.doc.GetText(TextName).Insert(0, "abcdef", nil)
	ins, _ := src.Diff(sv0)
	sv1, _ := src.StateVector()
	src.doc.GetText(TextName).Delete(1, 2)
	del, _ := src.Diff(sv1)

	a := ts.dialSynced("/parties/document/doc")
	a.write(syncFrame(syncUpdate, del))
	waitUntil(t, "stored", func() bool { return ts.stats("doc").LastSeq == 1 })
	ts.rt.Clock.Advance(11 * time.Second)
	waitUntil(t, "compaction", func() bool { return ts.stats("doc").LogRows == 0 })
	a.write(syncFrame(syncUpdate, ins))
	waitUntil(t, "insert stored", func() bool { return ts.stats("doc").LastSeq == 2 })
	b := ts.dial("/parties/document/doc")
	b.waitText("adef")
	ts.rt.Clock.Advance(3 * time.Second)
	waitUntil(t, "compaction", func() bool { return ts.stats("doc").LogRows == 0 })
	c := ts.dial("/parties/document/doc")
	c.waitText("adef")
	if code, body := ts.get("/parties/document/doc/text"); code != 200 || string(body) != "adef" {
		t.Fatalf("text %d %q", code, body)
	}
}

func TestAwareness(t *testing.T) {
	ts := newTestServer(t, Policy{})
	a := ts.dial("/parties/document/doc?_pk=a")
	b := ts.dial("/parties/document/doc?_pk=b")
	a.waitFor("sync", func() bool { return a.synced })
	b.waitFor("sync", func() bool { return b.synced })
	st := `{"user":{"name":"alice","color":"#f00"}}`
	a.write(awarenessFrame(encodeAwareness([]awarenessEntry{{Client: 42, Clock: 1, State: json.RawMessage(st)}})))
	b.waitFor("alice's state", awarenessSeen(b, 42, 1, st))
	c := ts.dial("/parties/document/doc?_pk=c")
	c.waitFor("alice's state on connect", awarenessSeen(c, 42, 1, st))
	c.write([]byte{msgQueryAwareness})
	a.conn.Close()
	b.waitFor("alice gone", awarenessSeen(b, 42, 0, "null"))
}

// awarenessSeen reports whether c received an awareness entry for client with
// state (JSON, "null" for a removal) and, when clock > 0, that clock.
func awarenessSeen(c *yclient, client, clock uint64, state string) func() bool {
	return func() bool {
		for _, fb := range c.frames {
			f, err := decodeFrame(fb)
			if err != nil || f.Type != msgAwareness {
				continue
			}
			es, _ := decodeAwareness(f.Payload)
			for _, e := range es {
				if e.Client == client && string(e.State) == state && (clock == 0 || e.Clock == clock) {
					return true
				}
			}
		}
		return false
	}
}

// TestAwarenessExpiry: a state that is not renewed within the y-protocols
// timeout (30 s) is removed and its removal broadcast, although its socket stays
// open; a renewed state lives on.
func TestAwarenessExpiry(t *testing.T) {
	ts := newTestServer(t, Policy{})
	a := ts.dial("/parties/document/doc?_pk=a")
	b := ts.dial("/parties/document/doc?_pk=b")
	a.waitFor("sync", func() bool { return a.synced })
	b.waitFor("sync", func() bool { return b.synced })
	alice := `{"user":{"name":"alice"}}`
	bob := `{"user":{"name":"bob"}}`
	a.write(awarenessFrame(encodeAwareness([]awarenessEntry{{Client: 42, Clock: 1, State: json.RawMessage(alice)}})))
	b.write(awarenessFrame(encodeAwareness([]awarenessEntry{{Client: 7, Clock: 1, State: json.RawMessage(bob)}})))
	b.waitFor("alice's state", awarenessSeen(b, 42, 1, alice))
	a.waitFor("bob's state", awarenessSeen(a, 7, 1, bob))

	ts.rt.Clock.Advance(20 * time.Second)
	b.write(awarenessFrame(encodeAwareness([]awarenessEntry{{Client: 7, Clock: 2, State: json.RawMessage(bob)}}))) // bob renews, alice does not
	a.waitFor("bob's renewal", awarenessSeen(a, 7, 2, bob))

	ts.rt.EvictAll()                     // hibernation: the states live in the attachments, the expiry in the schedule
	ts.rt.Clock.Advance(5 * time.Second) // 25 s: nothing expired yet
	time.Sleep(100 * time.Millisecond)
	b.mu.Lock()
	early := awarenessSeen(b, 42, 0, "null")()
	b.mu.Unlock()
	if early {
		t.Fatal("alice's state removed before 30 s")
	}
	ts.rt.Clock.Advance(6 * time.Second) // 31 s since alice's last update
	b.waitFor("alice expired", awarenessSeen(b, 42, 2, "null"))
	a.waitFor("alice told of her own expiry", awarenessSeen(a, 42, 2, "null"))
	c := ts.dial("/parties/document/doc?_pk=c")
	c.waitFor("bob's state on connect", awarenessSeen(c, 7, 2, bob))
	c.mu.Lock()
	stale := awarenessSeen(c, 42, 1, alice)()
	c.mu.Unlock()
	if stale {
		t.Fatal("a late joiner got alice's expired state")
	}
	a.mu.Lock()
	bobGone := awarenessSeen(a, 7, 0, "null")()
	a.mu.Unlock()
	if bobGone {
		t.Fatal("bob's renewed state expired")
	}

	ts.rt.Clock.Advance(20 * time.Second) // 40 s since bob's renewal
	a.waitFor("bob expired", awarenessSeen(a, 7, 3, "null"))
	if a.closeCode != 0 || b.closeCode != 0 {
		t.Fatalf("sockets closed: %d %d", a.closeCode, b.closeCode)
	}
}

func TestReadOnlyLink(t *testing.T) {
	ts := newTestServer(t, Policy{})
	code, body := ts.post("/api/docs", map[string]string{"title": "Notes"})
	var d DocInfo
	if code != 200 || json.Unmarshal(body, &d) != nil || d.ViewToken == "" {
		t.Fatalf("create: %d %s", code, body)
	}
	a := ts.dial(objecttest.PartyPath("document", d.Name))
	a.waitFor("sync", func() bool { return a.synced })
	a.edit(insert(0, "secret plan"))
	v := ts.dial(objecttest.PartyPath("view", d.ViewToken))
	v.waitText("secret plan")
	v.edit(insert(0, "EVIL "))
	a.edit(insert(11, "!"))
	v.waitText("EVIL secret plan!") // the viewer's own copy
	a.waitText("secret plan!")
	time.Sleep(50 * time.Millisecond)
	if got := a.text(); got != "secret plan!" {
		t.Fatalf("viewer edited: %q", got)
	}
	if code, _ := ts.get("/parties/view/nope/info"); code != 404 {
		t.Fatalf("unknown token: %d", code)
	}
	// list, rename
	code, body = ts.get("/api/docs")
	if code != 200 || !strings.Contains(string(body), `"Notes"`) {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, _ := ts.request(http.MethodPatch, "/api/docs/"+d.Name, "application/json", `{"title":"Plans"}`); code != 200 {
		t.Fatalf("rename: %d", code)
	}
	if code, body := ts.get(objecttest.PartyPath("view", d.ViewToken) + "/info"); code != 200 || !strings.Contains(string(body), "Plans") {
		t.Fatalf("info: %d %s", code, body)
	}
}

func TestVersions(t *testing.T) {
	ts := newTestServer(t, Policy{})
	a := ts.dial("/parties/document/doc")
	a.waitFor("sync", func() bool { return a.synced })
	a.edit(insert(0, "v1"))
	waitUntil(t, "row", func() bool { return ts.stats("doc").LastSeq == 1 })
	code, body := ts.post("/parties/document/doc/versions", map[string]string{"name": "first"})
	var v Version
	if code != 200 || json.Unmarshal(body, &v) != nil || v.ID == 0 {
		t.Fatalf("create version: %d %s", code, body)
	}
	a.edit(insert(2, " and v2"))
	code, body = ts.get("/parties/document/doc/versions/1")
	if code != 200 {
		t.Fatalf("get version: %d", code)
	}
	us, err := decodeUpdates(body)
	if err != nil {
		t.Fatal(err)
	}
	d := newYDoc()
	for _, u := range us {
		d.Apply(u)
	}
	if s, _ := d.Text(); s != "v1" {
		t.Fatalf("version text %q", s)
	}
	if code, body := ts.get("/parties/document/doc/versions"); code != 200 || !strings.Contains(string(body), "first") {
		t.Fatalf("list: %d %s", code, body)
	}
}

func TestMalformedFrames(t *testing.T) {
	ts := newTestServer(t, Policy{})
	for _, b := range [][]byte{
		{0x80},                               // truncated varuint
		{0, 2, 0xff, 0xff, 0xff, 0x0f},       // update with a huge length
		{0, 2, 5, 0xff, 0xff, 0xff, 0x0f, 0}, // update whose client count exceeds its length
		{1, 3, 1, 1, 1},                      // awareness truncated
		{0, 7, 0},                            // unknown sync type
	} {
		c := ts.dial("/parties/document/doc")
		c.write(b)
		c.waitFor("close", func() bool { return c.closeCode != 0 })
		if c.closeCode != 4400 {
			t.Errorf("%x: close %d", b, c.closeCode)
		}
	}
	a := ts.dial("/parties/document/doc")
	a.edit(insert(0, "still fine"))
	b := ts.dial("/parties/document/doc")
	b.waitText("still fine")
}

func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
