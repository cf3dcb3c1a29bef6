package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
	"github.com/warrenhq/warren/runtime/server"
)

// testServer runs the chat app on loopback with a fake clock (so rate-limit buckets
// refill only when the test says).
type testServer struct {
	t   testing.TB
	rt  *objecttest.Runtime
	srv *httptest.Server
}

func newTestServer(t testing.TB, limits Limits) *testServer {
	t.Helper()
	rt := objecttest.New(t, object.Config{})
	ts := &testServer{t: t, rt: rt}
	ts.start(limits)
	return ts
}

func (ts *testServer) start(limits Limits) {
	s := server.New(ts.rt.Runtime, server.Config{})
	if err := setup(limits)(ts.rt.Runtime, s); err != nil {
		ts.t.Fatal(err)
	}
	ts.srv = httptest.NewServer(s)
	ts.t.Cleanup(ts.srv.Close)
}

// restart stops the server and runtime and starts both again on the same data.
func (ts *testServer) restart(limits Limits) {
	ts.srv.CloseClientConnections()
	ts.srv.Close()
	ts.rt = ts.rt.Restart(ts.t, object.Config{})
	ts.start(limits)
}

type client struct {
	t    testing.TB
	conn *websocket.Conn
}

// dial connects to room with the given query parameters (e.g. "proto=1&token=...").
func (ts *testServer) dial(room, pk, query string) *client {
	ts.t.Helper()
	return ts.dialFrom("", room, pk, query)
}

// dialFrom is dial from the loopback source address src ("" for the default), so
// that tests can play clients of several addresses.
func (ts *testServer) dialFrom(src, room, pk, query string) *client {
	ts.t.Helper()
	if query != "" {
		query = "&" + query
	}
	u := objecttest.PartyURL(ts.srv.URL, "chat", room, "_pk="+pk+query)
	d := *websocket.DefaultDialer
	if src != "" {
		nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		d.NetDialContext = nd.DialContext
	}
	conn, resp, err := d.Dial(u, nil)
	if err != nil {
		ts.t.Fatalf("dial %s: %v (%v)", u, err, resp)
	}
	ts.t.Cleanup(func() { conn.Close() })
	return &client{t: ts.t, conn: conn}
}

func (c *client) send(v any) {
	c.t.Helper()
	if err := c.conn.WriteJSON(v); err != nil {
		c.t.Fatal(err)
	}
}

// frame is a decoded server frame.
type frame struct {
	Type     string         `json:"type"`
	Messages []Message      `json:"messages"`
	HasMore  bool           `json:"hasMore"`
	Rev      int64          `json:"rev"`
	Code     string         `json:"code"`
	ID       string         `json:"id"`
	Content  string         `json:"content"`
	UID      string         `json:"uid"`
	Deleted  bool           `json:"deleted"`
	Users    []presenceUser `json:"users"`
	Typing   bool           `json:"typing"`
	More     bool           `json:"more"`
	Name     string         `json:"name"`
	User     string         `json:"user"`
	Retry    int64          `json:"retryAfter"`
	Raw      string         `json:"-"`
}

// next reads frames until one of type typ arrives (others are skipped).
func (c *client) next(typ string) frame {
	c.t.Helper()
	return c.nextOf(typ)
}

// nextOf reads frames until one of the given types arrives (others are skipped).
func (c *client) nextOf(types ...string) frame {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			c.t.Fatalf("waiting for %q: %v", types, err)
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			c.t.Fatalf("bad frame %s: %v", data, err)
		}
		f.Raw = string(data)
		if slices.Contains(types, f.Type) {
			return f
		}
	}
}

func add(id, content, user string) map[string]any {
	return map[string]any{"type": "add", "id": id, "content": content, "user": user, "role": "user"}
}

const (
	aliceQ = "proto=1&name=alice&token=alice-secret-token-0001"
	bobQ   = "proto=1&name=bob&token=bob-secret-token-00000001"
)

func TestTemplateFlow(t *testing.T) {
	ts := newTestServer(t, Limits{})
	a := ts.dial("room", "a", "")
	if f := a.next("all"); len(f.Messages) != 0 {
		t.Fatalf("new room: %+v", f)
	}
	b := ts.dial("room", "b", "")
	b.next("all")
	a.send(add("m1", "hello", "Alice"))
	for _, c := range []*client{a, b} { // broadcast to everyone, the sender included
		f := c.next("add")
		if f.ID != "m1" || f.Content != "hello" || !strings.Contains(f.Raw, `"user":"Alice"`) || !strings.Contains(f.Raw, `"role":"user"`) {
			t.Fatalf("add frame: %s", f.Raw)
		}
	}
	a.send(map[string]any{"type": "update", "id": "m1", "content": "hello!", "user": "Alice", "role": "user"})
	if f := b.next("update"); f.Content != "hello!" {
		t.Fatalf("update frame: %s", f.Raw)
	}
	// A stock client never receives chat:* frames, even on errors.
	b.send(map[string]any{"type": "update", "id": "m1", "content": "hijack", "user": "Bob"})
	b.send(add("m2", "from bob", "Bob"))
	if f := b.next("add"); f.ID != "m2" {
		t.Fatalf("got %s", f.Raw)
	}
	c := ts.dial("room", "c", "")
	f := c.next("all")
	if len(f.Messages) != 2 || f.Messages[0].Content != "hello!" || f.Messages[1].Content != "from bob" {
		t.Fatalf("history: %s", f.Raw)
	}
}

// unlimited lifts the rate limits for tests that send many messages from one address.
var unlimited = Limits{Burst: 1e6, Rate: 1e6, AddrBurst: 1e6, AddrRate: 1e6, RoomBurst: 1e6, RoomRate: 1e6}

func TestHistoryPaging(t *testing.T) {
	ts := newTestServer(t, unlimited)
	a := ts.dial("r", "a", aliceQ)
	a.next("all")
	for i := range 120 {
		a.send(add(fmt.Sprintf("m%d", i), fmt.Sprintf("message %d", i), "alice"))
	}
	for range 120 {
		a.next("add")
	}
	b := ts.dial("r", "b", bobQ)
	f := b.next("all")
	if len(f.Messages) != PageSize || !f.HasMore || f.Messages[0].Seq != 71 || f.Messages[PageSize-1].Seq != 120 {
		t.Fatalf("all: %d messages, hasMore %v, first %d", len(f.Messages), f.HasMore, f.Messages[0].Seq)
	}
	var seen []int64
	before := f.Messages[0].Seq
	for {
		b.send(map[string]any{"type": TypeHistory, "before": before, "limit": 30})
		h := b.next(TypeHistory)
		for i := len(h.Messages) - 1; i >= 0; i-- {
			seen = append(seen, h.Messages[i].Seq)
		}
		if !h.HasMore {
			break
		}
		before = h.Messages[0].Seq
	}
	if len(seen) != 70 || seen[0] != 70 || seen[69] != 1 {
		t.Fatalf("paged %d messages: %v", len(seen), seen)
	}
}

func TestEditDeleteOwnership(t *testing.T) {
	ts := newTestServer(t, Limits{})
	a, b := ts.dial("r", "a", aliceQ), ts.dial("r", "b", bobQ)
	a.next("all")
	b.next("all")
	a.send(add("m1", "mine", "alice"))
	b.next("add")
	b.send(map[string]any{"type": "update", "id": "m1", "content": "pwned", "user": "bob"})
	if f := b.next(TypeError); f.Code != ErrForbidden || f.ID != "m1" {
		t.Fatalf("bob edit: %s", f.Raw)
	}
	b.send(map[string]any{"type": TypeDelete, "id": "m1"})
	if f := b.next(TypeError); f.Code != ErrForbidden {
		t.Fatalf("bob delete: %s", f.Raw)
	}
	b.send(add("m1", "pwned", "bob")) // re-adding someone else's id is an edit attempt
	if f := b.next(TypeError); f.Code != ErrForbidden {
		t.Fatalf("bob re-add: %s", f.Raw)
	}
	// Alice from another device (same token) may edit and delete.
	a2 := ts.dial("r", "a2", aliceQ)
	a2.next("all")
	a2.send(map[string]any{"type": "update", "id": "m1", "content": "edited", "user": "alice"})
	if f := b.next("update"); f.Content != "edited" {
		t.Fatalf("edit: %s", f.Raw)
	}
	a.send(map[string]any{"type": TypeDelete, "id": "m1"})
	if f := b.next("update"); !f.Deleted || f.Content != "" {
		t.Fatalf("delete: %s", f.Raw)
	}
	c := ts.dial("r", "c", "")
	if f := c.next("all"); len(f.Messages) != 0 {
		t.Fatalf("deleted message in history: %s", f.Raw)
	}
}

func TestResumeFromRev(t *testing.T) {
	ts := newTestServer(t, Limits{Burst: 100})
	a, b := ts.dial("r", "a", aliceQ), ts.dial("r", "b", bobQ)
	a.next("all")
	b.next("all")
	a.send(add("m1", "one", "alice"))
	a.send(add("m2", "two", "alice"))
	b.next("add")
	last := b.next("add").Rev
	b.conn.Close()
	// While bob is away: a new message, an edit of an old one, a delete.
	a.send(add("m3", "three", "alice"))
	a.send(map[string]any{"type": "update", "id": "m1", "content": "one!", "user": "alice"})
	a.send(map[string]any{"type": TypeDelete, "id": "m2"})
	a.next("add")
	a.next("add")
	a.next("update")
	a.next("update")
	ts.restart(Limits{}) // and the server restarted
	b = ts.dial("r", "b", bobQ+fmt.Sprintf("&since=%d", last))
	f := b.next(TypeResume)
	got := []string{}
	for _, m := range f.Messages {
		got = append(got, fmt.Sprintf("%s:%s:%v", m.ID, m.Content, m.Deleted))
	}
	want := "m3:three:false m1:one!:false m2::true"
	if strings.Join(got, " ") != want || f.Rev != 5 {
		t.Fatalf("resume got %v rev %d, want %s rev 5", got, f.Rev, want)
	}
	// A resend of a message the server already has is not duplicated.
	b.send(add("b1", "hi", "bob"))
	b.next("add")
	b.send(add("b1", "hi", "bob"))
	if f := b.next("add"); f.Seq() != 4 {
		t.Fatalf("resend: %s", f.Raw)
	}
	c := ts.dial("r", "c", "")
	if f := c.next("all"); len(f.Messages) != 3 {
		t.Fatalf("history after resend: %s", f.Raw)
	}
}

func (f frame) Seq() int64 {
	var m Message
	json.Unmarshal([]byte(f.Raw), &m)
	return m.Seq
}

func TestRateLimitAndSizeLimits(t *testing.T) {
	ts := newTestServer(t, Limits{Burst: 3, Rate: 1})
	a := ts.dial("r", "a", aliceQ)
	a.next("all")
	for i := range 4 {
		a.send(add(fmt.Sprintf("m%d", i), "spam", "alice"))
	}
	for range 3 {
		a.next("add")
	}
	if f := a.next(TypeError); f.Code != ErrRateLimited || f.ID != "m3" {
		t.Fatalf("rate limit: %s", f.Raw)
	}
	ts.rt.Clock.Advance(2 * time.Second)
	a.send(add("big", strings.Repeat("x", MaxContentBytes+1), "alice"))
	if f := a.next(TypeError); f.Code != ErrTooLarge || f.ID != "big" {
		t.Fatalf("too large: %s", f.Raw)
	}
	a.send(add("n", "hi", strings.Repeat("n", MaxNameBytes+1)))
	if f := a.next(TypeError); f.Code != ErrTooLarge {
		t.Fatalf("long name: %s", f.Raw)
	}
	a.send(add("bad id", "hi", "alice"))
	if f := a.next(TypeError); f.Code != ErrInvalid || f.ID != "" {
		t.Fatalf("bad id: %s", f.Raw)
	}
}

func TestHostileContentStoredVerbatim(t *testing.T) {
	ts := newTestServer(t, Limits{})
	a := ts.dial("r", "a", aliceQ)
	a.next("all")
	hostile := `<img src=x onerror=alert(1)><script>alert(2)</script> "'&`
	a.send(add("x1", hostile, `<b>eve</b>`))
	if f := a.next("add"); f.Content != hostile {
		t.Fatalf("content changed: %q", f.Content)
	}
	b := ts.dial("r", "b", "")
	if f := b.next("all"); f.Messages[0].Content != hostile || f.Messages[0].User != "<b>eve</b>" {
		t.Fatalf("history: %s", f.Raw)
	}
}

func TestSearch(t *testing.T) {
	ts := newTestServer(t, Limits{Burst: 100})
	a := ts.dial("r", "a", aliceQ)
	a.next("all")
	for i, s := range []string{"the quick brown fox", "lazy dogs sleep", "Foxes are quick", `weird "quotes" AND OR (`} {
		a.send(add(fmt.Sprintf("m%d", i), s, "alice"))
		a.next("add")
	}
	for q, want := range map[string]int{"quick": 2, "fox": 2, "quick brown": 1, "dog": 1, "cat": 0, `"quotes" AND (`: 1, "": 0} {
		a.send(map[string]any{"type": TypeSearch, "q": q})
		if f := a.next(TypeSearch); len(f.Messages) != want {
			t.Errorf("search %q: %d results, want %d: %s", q, len(f.Messages), want, f.Raw)
		}
	}
	a.send(map[string]any{"type": TypeDelete, "id": "m0"})
	a.send(map[string]any{"type": TypeSearch, "q": "quick"})
	if f := a.next(TypeSearch); len(f.Messages) != 1 {
		t.Errorf("search after delete: %s", f.Raw)
	}
}

func TestPresenceTypingJoinLeave(t *testing.T) {
	ts := newTestServer(t, Limits{})
	a := ts.dial("r", "a", aliceQ)
	w := a.next(TypeWelcome)
	if f := a.next(TypePresence); len(f.Users) != 1 || f.Users[0].Name != "alice" || f.Users[0].UID != w.UID {
		t.Fatalf("presence: %s", f.Raw)
	}
	b := ts.dial("r", "b", bobQ)
	if f := a.next(TypeJoin); !strings.Contains(f.Raw, `"name":"bob"`) {
		t.Fatalf("join: %s", f.Raw)
	}
	if f := a.next(TypePresence); len(f.Users) != 2 {
		t.Fatalf("presence: %s", f.Raw)
	}
	b.send(map[string]any{"type": TypeTyping, "typing": true})
	if f := a.next(TypeTyping); !f.Typing || !strings.Contains(f.Raw, `"name":"bob"`) {
		t.Fatalf("typing: %s", f.Raw)
	}
	b.conn.Close()
	if f := a.next(TypeLeave); !strings.Contains(f.Raw, `"name":"bob"`) {
		t.Fatalf("leave: %s", f.Raw)
	}
	if f := a.next(TypePresence); len(f.Users) != 1 {
		t.Fatalf("presence: %s", f.Raw)
	}
}

func TestRootRedirectsToRandomRoom(t *testing.T) {
	ts := newTestServer(t, Limits{})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(ts.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || len(loc) != 11 || loc[0] != '/' {
		t.Fatalf("GET /: %d %q", resp.StatusCode, loc)
	}
}

func TestBadTokenRefused(t *testing.T) {
	ts := newTestServer(t, Limits{})
	c := ts.dial("r", "a", "proto=1&token=short")
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := c.conn.ReadMessage()
	if !websocket.IsCloseError(err, 4400) {
		t.Fatalf("got %v, want close 4400", err)
	}
}
