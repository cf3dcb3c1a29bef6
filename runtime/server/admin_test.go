package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/admin"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

const adminToken = "admin-token-0123456789abcdef"

// adminDo sends a request to the admin API of h with the given headers.
func (h *harness) adminDo(method, path, body string, hdr map[string]string) (int, string, http.Header) {
	h.t.Helper()
	req, _ := http.NewRequest(method, "http://"+h.addr+path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var bearer = map[string]string{"Authorization": "Bearer " + adminToken}

// TestAdminAPIAbuse tries the admin API's abuse cases of SECURITY.md: no token,
// wrong token, the token in a URL, cross-origin requests, a session cookie without
// the state-change header, SQL that tries to write or attach, a remote client, and
// the API when no token is configured.
func TestAdminAPIAbuse(t *testing.T) {
	h := start(t, server.Config{Admin: admin.Config{Token: adminToken}}, object.Config{})
	ws := h.dial("/parties/room/lobby")
	defer ws.Close()
	roundTrip(t, ws, "count")
	list := "/_warren/api/objects/room"

	if code, _, hdr := h.adminDo("GET", list, "", nil); code != 401 || hdr.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d, want 401 with WWW-Authenticate", code)
	}
	if code, _, _ := h.adminDo("GET", list, "", map[string]string{"Authorization": "Bearer " + adminToken + "x"}); code != 401 {
		t.Errorf("wrong token: %d, want 401", code)
	}
	if code, _, _ := h.adminDo("GET", list, "", map[string]string{"Authorization": "Bearer " + adminToken[:len(adminToken)-1]}); code != 401 {
		t.Errorf("token prefix: %d, want 401", code)
	}
	if code, body, _ := h.adminDo("GET", list+"?token="+adminToken, "", nil); code != 400 || !strings.Contains(body, "never in a URL") {
		t.Errorf("token in the query: %d %s, want 400", code, body)
	}
	code, body, _ := h.adminDo("GET", list, "", bearer)
	if code != 200 || !strings.Contains(body, `"sockets":1`) {
		t.Fatalf("listing with the token: %d %s", code, body)
	}
	evil := map[string]string{"Authorization": "Bearer " + adminToken, "Origin": "https://evil.example"}
	if code, _, _ := h.adminDo("GET", list, "", evil); code != 403 {
		t.Errorf("cross-origin GET: %d, want 403", code)
	}
	if code, _, _ := h.adminDo("DELETE", "/_warren/api/objects/room/lobby", "", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}); code != 403 {
		t.Errorf("cross-site DELETE: %d, want 403", code)
	}

	// Login: a wrong token sets no cookie; the right one an HttpOnly SameSite=Strict cookie.
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if _, _, hdr := h.adminDo("POST", "/_warren/login", "token=nope", form); hdr.Get("Set-Cookie") != "" {
		t.Errorf("wrong login set a cookie: %s", hdr.Get("Set-Cookie"))
	}
	_, _, hdr := h.adminDo("POST", "/_warren/login", url.Values{"token": {adminToken}}.Encode(), form)
	cookie := hdr.Get("Set-Cookie")
	if !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") || strings.Contains(cookie, adminToken) {
		t.Fatalf("session cookie: %q", cookie)
	}
	session := map[string]string{"Cookie": strings.Split(cookie, ";")[0]}
	if code, _, _ := h.adminDo("GET", list, "", session); code != 200 {
		t.Errorf("GET with the session cookie: %d", code)
	}
	if code, _, _ := h.adminDo("POST", "/_warren/api/objects/room/lobby/sql", `{"query":"SELECT 1"}`, session); code != 403 {
		t.Errorf("cookie POST without X-Warren-Admin: %d, want 403", code)
	}

	// SQL that tries to write or attach, read-only by default.
	for _, q := range []string{
		`CREATE TABLE t (x)`, `PRAGMA query_only=0`, `ATTACH 'file:/tmp/x.db?mode=rwc' AS x`, `SELECT * FROM _warren_kv`,
	} {
		b, _ := json.Marshal(admin.SQLRequest{Query: q})
		if code, body, _ := h.adminDo("POST", "/_warren/api/objects/room/lobby/sql", string(b), bearer); code != 400 {
			t.Errorf("%s: %d %s, want 400", q, code, body)
		}
	}
	b, _ := json.Marshal(admin.SQLRequest{Query: `ATTACH 'file:/tmp/x.db?mode=rwc' AS x`, Write: true})
	if code, body, _ := h.adminDo("POST", "/_warren/api/objects/room/lobby/sql", string(b), bearer); code != 400 || !strings.Contains(body, "ATTACH") {
		t.Errorf("ATTACH with write: %d %s, want 400", code, body)
	}

	// Deleting with the cookie and the header closes the room's socket with 4404.
	session["X-Warren-Admin"] = "1"
	if code, body, _ := h.adminDo("DELETE", "/_warren/api/objects/room/lobby", "", session); code != 204 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, reason := closeCode(t, ws); code != object.CloseObjectDeleted || reason != "object deleted" {
		t.Fatalf("socket of the deleted room closed with %d %q, want 4404 \"object deleted\"", code, reason)
	}
}

// TestAdminSessionExpires pins a gap of issue 18's first pass: the session cookie was
// a fixed HMAC of the token, so a copied cookie worked for as long as the token did,
// whatever its 12-hour MaxAge told the browser. Now the cookie carries its expiry,
// signed, and the server refuses it once past (by the runtime's clock), or with the
// expiry changed. Fails on the code before the fix (the old cookie still works).
func TestAdminSessionExpires(t *testing.T) {
	h := start(t, server.Config{Admin: admin.Config{Token: adminToken}}, object.Config{})
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	_, _, hdr := h.adminDo("POST", "/_warren/login", url.Values{"token": {adminToken}}.Encode(), form)
	cookie := strings.Split(hdr.Get("Set-Cookie"), ";")[0]
	if !strings.HasPrefix(cookie, "warren_admin=") {
		t.Fatalf("login set %q", hdr.Get("Set-Cookie"))
	}
	list := "/_warren/api/objects/room"
	if code, _, _ := h.adminDo("GET", list, "", map[string]string{"Cookie": cookie}); code != 200 {
		t.Fatalf("fresh session: %d", code)
	}
	// The expiry pushed a year on, the signature kept: refused.
	value := strings.TrimPrefix(cookie, "warren_admin=")
	if exp, sig, ok := strings.Cut(value, "."); ok {
		n, _ := strconv.ParseInt(exp, 10, 64)
		forged := "warren_admin=" + strconv.FormatInt(n+365*24*3600, 10) + "." + sig
		if code, _, _ := h.adminDo("GET", list, "", map[string]string{"Cookie": forged}); code != 401 {
			t.Errorf("session with a forged expiry: %d, want 401", code)
		}
	}
	h.rt.Clock.Advance(12*time.Hour + time.Second)
	if code, _, _ := h.adminDo("GET", list, "", map[string]string{"Cookie": cookie}); code != 401 {
		t.Fatalf("session 12 h after login: %d, want 401", code)
	}
	if code, body, _ := h.adminDo("GET", "/_warren/", "", map[string]string{"Cookie": cookie}); code != 200 || !strings.Contains(body, "sign in") {
		t.Fatalf("page with an expired session: %d, want the login form", code)
	}
}

// A client that is not on loopback is refused unless AllowRemote.
func TestAdminAPIRefusesRemoteClients(t *testing.T) {
	h := start(t, server.Config{Admin: admin.Config{Token: adminToken}}, object.Config{})
	req := httptest.NewRequest("GET", "http://127.0.0.1/_warren/api/namespaces", nil)
	req.RemoteAddr = "203.0.113.7:4000"
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	h.s.ServeHTTP(rec, req)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "loopback") {
		t.Fatalf("remote client: %d %s, want 403", rec.Code, rec.Body.String())
	}
	h2 := start(t, server.Config{Admin: admin.Config{Token: adminToken, AllowRemote: true}}, object.Config{})
	rec = httptest.NewRecorder()
	h2.s.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("remote client with AllowRemote: %d %s", rec.Code, rec.Body.String())
	}
}

func TestAdminAPIOffWithoutToken(t *testing.T) {
	h := start(t, server.Config{}, object.Config{})
	if code, body, _ := h.adminDo("GET", "/_warren/api/namespaces", "", bearer); code != 404 || !strings.Contains(body, "admin API is off") {
		t.Fatalf("admin API without a token: %d %s, want 404", code, body)
	}
	// A token too short to be safe keeps it off.
	h2 := start(t, server.Config{Admin: admin.Config{Token: "short"}}, object.Config{})
	if code, _, _ := h2.adminDo("GET", "/_warren/api/namespaces", "", map[string]string{"Authorization": "Bearer short"}); code != 404 {
		t.Fatalf("admin API with a short token: %d, want 404", code)
	}
}

// /metrics exports per-object series for the busiest objects only. It also pins the
// per-object messages sent and rows read and written that issue 18's first pass did
// not count (fails before: no such series).
func TestPerObjectMetricsBounded(t *testing.T) {
	h := start(t, server.Config{}, object.Config{})
	for i := range 30 {
		ws := h.dial("/parties/room/r" + string(rune('a'+i%26)) + string(rune('a'+i/26)))
		for range i + 1 {
			roundTrip(t, ws, "count") // one message received, one sent
		}
		ws.Close()
	}
	for range 2 { // the room's HTTP counter: a KV get (found the second time) and a put
		if code, body := h.get("/parties/room/rdb"); code != 200 {
			t.Fatalf("room HTTP: %d %s", code, body)
		}
	}
	_, body := h.get("/metrics")
	n := strings.Count(body, "\nwarren_object_turns_total{")
	if n == 0 || n > server.TopObjectMetrics {
		t.Fatalf("%d per-object series, want 1..%d", n, server.TopObjectMetrics)
	}
	busiest, _ := h.rt.ParseObject("room", "rdb") // 30 messages
	if !strings.Contains(body, `warren_object_turns_total{namespace="room",id="`+busiest.String()[:16]+`"}`) {
		t.Fatalf("busiest object missing from /metrics:\n%s", body)
	}
	if !strings.Contains(body, `warren_object_bytes{namespace="room",id="`+busiest.String()[:16]+`"}`) {
		t.Fatalf("no size of the busiest object in /metrics")
	}
	if !strings.Contains(body, `warren_object_messages_total{namespace="room",id="`+busiest.String()[:16]+`"} 30`) {
		t.Fatalf("the busiest object's 30 messages are not in /metrics")
	}
	for series, want := range map[string]string{
		"warren_object_messages_sent_total": "30",
		"warren_object_rows_read_total":     "1",
		"warren_object_rows_written_total":  "3", // two puts and the room's name row
	} {
		if line := series + `{namespace="room",id="` + busiest.String()[:16] + `"} ` + want; !strings.Contains(body, line+"\n") {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	if strings.Contains(body, "rdb") {
		t.Fatal("/metrics shows an object name")
	}
}

// TestDeletedObjectWithSocketsStaysDeleted pins a defect of issue 18's first pass: the
// OnClose event of a socket closed by DeleteObject failed with "was deleted" and was
// retried (2 s × 2ⁿ, six times), and a retry ran as a turn of the deleted object,
// which created its database again: the object came back, empty, in the listing.
// Now a socket of a deleted (or restored) object gets no OnClose and nothing is
// retried. Fails on the code before the fix (the file is back after the retries).
func TestDeletedObjectWithSocketsStaysDeleted(t *testing.T) {
	h := start(t, server.Config{}, object.Config{})
	ws := h.dial("/parties/room/doomed")
	roundTrip(t, ws, "count")
	id, err := h.rt.ParseObject("room", "doomed")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.rt.DeleteObject(context.Background(), "room", id); err != nil {
		t.Fatal(err)
	}
	if code, _ := closeCode(t, ws); code != object.CloseObjectDeleted {
		t.Fatalf("socket closed with %d, want %d", code, object.CloseObjectDeleted)
	}
	for range 8 { // past every retry of an OnClose (closeRetries, backoff 2 s × 2ⁿ)
		h.rt.WaitIdle()
		h.rt.Clock.Advance(10 * time.Minute)
	}
	h.rt.WaitIdle()
	if _, err := os.Stat(h.rt.DatabasePath("room", id)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the deleted object's database is back: %v", err)
	}
	list, err := h.rt.ListObjects(context.Background(), "room", object.ObjectListOptions{})
	if err != nil || len(list.Objects) != 0 {
		t.Fatalf("listing after the delete: %+v, %v", list.Objects, err)
	}
	select {
	case ev := <-h.closes:
		t.Fatalf("OnClose ran for a socket of the deleted object: %+v", ev)
	default:
	}
}
