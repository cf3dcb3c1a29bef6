package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/history"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// TestRestoreBookmarkRestartsTheObject checks what a restore to a bookmark promises
// on one node (issue 21): the object's socket is closed with CloseObjectRestored
// (4409), the instance is dropped (its in-memory state starts over) and the next
// event starts it on the restored state, and the bookmark RestoreBookmark answers
// undoes the restore.
func TestRestoreBookmarkRestartsTheObject(t *testing.T) {
	dir := t.TempDir()
	hist, err := history.New(history.Config{Dir: filepath.Join(dir, ".history"), SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hist.Close) // after the runtime's Close
	h := start(t, server.Config{}, object.Config{DataDir: dir, History: hist, Clock: object.SystemClock})
	ctx := context.Background()
	id, err := h.rt.ParseObject("room", "r")
	if err != nil {
		t.Fatal(err)
	}
	hit := func() string {
		t.Helper()
		resp, err := http.Get("http://" + h.addr + "/parties/room/r")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	flood := func(c *websocket.Conn) string {
		t.Helper()
		if err := c.WriteMessage(websocket.TextMessage, []byte("flood:1:8")); err != nil {
			t.Fatal(err)
		}
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	hit()
	bm, err := h.rt.CurrentBookmark(ctx, "room", id)
	if err != nil {
		t.Fatal(err)
	}
	hit()
	hit()
	ws := h.dial("/parties/room/r")
	defer ws.Close()
	flood(ws)
	if got := flood(ws); got != "00000001" {
		t.Fatalf("second flood %q, want 00000001", got)
	}
	closed := make(chan error, 1)
	go func() { // a client reads on: the close handshake completes at once
		ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _, err := ws.ReadMessage()
		closed <- err
	}()
	undo, err := h.rt.RestoreBookmark(ctx, "room", id, bm)
	if err != nil {
		t.Fatal(err)
	}
	var ce *websocket.CloseError
	if err := <-closed; !errors.As(err, &ce) || ce.Code != object.CloseObjectRestored {
		t.Fatalf("the socket after the restore: %v, want close %d", err, object.CloseObjectRestored)
	}
	if got := hit(); got != "2" {
		t.Fatalf("the first hit after restoring to after hit 1 answers %q, want 2", got)
	}
	ws2 := h.dial("/parties/room/r")
	defer ws2.Close()
	if got := flood(ws2); got != "00000000" {
		t.Fatalf("a flood after the restore %q, want 00000000 (a new instance)", got)
	}
	if _, err := h.rt.RestoreBookmark(ctx, "room", id, undo); err != nil {
		t.Fatal(err)
	}
	if got := hit(); got != "4" {
		t.Fatalf("after the undo the next hit answers %q, want 4 (3 before the restore)", got)
	}
}
