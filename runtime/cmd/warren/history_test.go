package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// TestPointInTimeRecovery runs the room app as its binary does with -history 7d and
// the admin token, and goes through what an operator does: the bookmark of a moment
// (warren bookmark -at), a restore to it (warren restore-bookmark), the history's
// disk use in /metrics, the undo; then, with the app stopped, the same on its data
// directory.
func TestPointInTimeRecovery(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(testToken), 0o600); err != nil {
		t.Fatal(err)
	}
	post := object.NewMethod("post", (*Room).Post)
	var ns *object.Namespace[Room]
	ready := make(chan net.Addr, 1)
	app := server.App{Name: "rooms", Runtime: object.Config{Logger: quiet}, Ready: func(a net.Addr) { ready <- a },
		Setup: func(rt *object.Runtime, s *server.Server) error {
			var err error
			if ns, err = object.Register(rt, "room", newRoom, object.Methods(post)); err != nil {
				return err
			}
			return s.Mount(ns)
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, app, []string{"-addr", "127.0.0.1:0", "-data", dir, "-history", "7d", "-admin-token-file", tokenFile}, io.Discard)
	}()
	var url string
	select {
	case a := <-ready:
		url = "http://" + a.String()
	case err := <-done:
		t.Fatalf("the app did not start: %v", err)
	}
	defer func() {
		cancel()
		<-done
	}()
	say := func(n int) {
		t.Helper()
		if _, err := post.Call(context.Background(), ns.GetByName("lobby"), fmt.Sprintf("message %d", n)); err != nil {
			t.Fatal(err)
		}
	}
	count := func(args ...string) string {
		t.Helper()
		out, err := warren(t, append(args, "sql", "room", "lobby", "SELECT count(*) FROM messages")...)
		if err != nil {
			t.Fatalf("count: %q, %v", out, err)
		}
		return strings.Fields(out)[1]
	}
	say(1)
	say(2)
	time.Sleep(20 * time.Millisecond)
	mid := time.Now()
	time.Sleep(20 * time.Millisecond)
	say(3)
	t.Setenv("WARREN_ADMIN_TOKEN", testToken)
	api := []string{"-url", url}
	out, err := warren(t, append(api, "bookmark", "-at", mid.Format(time.RFC3339Nano), "room", "lobby")...)
	if err != nil {
		t.Fatalf("bookmark -at: %q, %v", out, err)
	}
	bm := strings.TrimSpace(out)
	out, err = warren(t, append(api, "restore-bookmark", "room", "lobby", bm)...)
	if err != nil || !strings.Contains(out, "undo with: warren restore-bookmark room lobby ") {
		t.Fatalf("restore-bookmark: %q, %v", out, err)
	}
	undo := out[strings.LastIndex(out, " ")+1:]
	if n := count(api...); n != "2" {
		t.Fatalf("after the restore to the moment after message 2: %s messages", n)
	}
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := regexp.MustCompile(`(?m)^warren_history_bytes (\d+)$`).FindSubmatch(metrics); m == nil || string(m[1]) == "0" {
		t.Fatalf("/metrics has no history bytes: %q", m)
	}
	if out, err = warren(t, append(api, "restore-bookmark", "room", "lobby", strings.TrimSpace(undo))...); err != nil {
		t.Fatalf("undo: %q, %v", out, err)
	}
	if n := count(api...); n != "3" {
		t.Fatalf("after the undo: %s messages", n)
	}
	if out, err = warren(t, append(api, "restore-bookmark", "room", "lobby", "not-a-bookmark")...); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("a bad bookmark: %q, %v", out, err)
	}

	cancel()
	if err := <-done; err != nil && err != context.Canceled {
		t.Fatalf("the app's Run: %v", err)
	}
	done <- nil // for the deferred wait
	stopped := []string{"-data", dir}
	if out, err = warren(t, append(stopped, "restore-bookmark", "room", "lobby", bm)...); err != nil {
		t.Fatalf("restore-bookmark on the stopped app's data directory: %q, %v", out, err)
	}
	if n := count(stopped...); n != "2" {
		t.Fatalf("after the offline restore: %s messages", n)
	}
	if out, err = warren(t, append(stopped, "-json", "bookmark", "room", "lobby")...); err != nil || !strings.Contains(out, `"history_bytes"`) {
		t.Fatalf("current bookmark offline: %q, %v", out, err)
	}
}

// TestBookmarkWithoutHistory: an app started without -history answers a bookmark
// request with a clear error.
func TestBookmarkWithoutHistory(t *testing.T) {
	dir := t.TempDir()
	openApp(t, dir, map[string]int{"lobby": 1}).Close()
	out, err := warren(t, "-data", dir, "bookmark", "room", "lobby")
	if err == nil || !strings.Contains(err.Error(), "point-in-time recovery is off") {
		t.Fatalf("bookmark without history: %q, %v", out, err)
	}
}
