package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/warrenhq/warren/loadtest/internal/relayserver"
	"github.com/warrenhq/warren/loadtest/internal/report"
)

// TestMain lets the test binary serve as a -procs worker.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == workerCmd {
		os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func relayURL(t *testing.T, opt relayserver.Options) string {
	srv := httptest.NewServer(relayserver.New(opt))
	t.Cleanup(srv.Close)
	return "ws://" + srv.Listener.Addr().String() + "/parties/chat/{room}?_pk={conn}"
}

func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := realMain(args, &out, &errb)
	return code, out.String(), errb.String()
}

func readResult(t *testing.T, path string) *report.Result {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r report.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestChatScenarioEndToEnd(t *testing.T) {
	dir := t.TempDir()
	js, md, html := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.md"), filepath.Join(dir, "r.html")
	code, out, errs := cli(t, "chat", "-url", relayURL(t, relayserver.Options{Chat: true}),
		"-conns", "40", "-rooms", "4", "-senders", "2", "-rate", "100", "-messages", "10", "-duration", "5s",
		"-max-lost", "0", "-max-errors", "0", "-max-p99", "5000", "-json", js, "-md", md, "-html", html, "-progress", "off")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	r := readResult(t, js)
	// 4 rooms × 2 senders × 10 messages, each to the 10 sockets of its room.
	if m := r.Messages; m.Sent != 80 || m.Delivered != 800 || m.Lost != 0 || m.Unmatched != 40 {
		t.Errorf("messages: %+v", m)
	}
	if !strings.Contains(out, "delivered") || r.Config["payload"] != "chat" || !r.Passed {
		t.Errorf("output:\n%s", out)
	}
	for _, f := range []string{md, html} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestThresholdFailureExitCode(t *testing.T) {
	code, out, _ := cli(t, "relay", "-url", relayURL(t, relayserver.Options{DropEvery: 5}),
		"-conns", "10", "-rate", "200", "-messages", "10", "-max-lost", "0", "-drain", "300ms", "-progress", "off")
	if code != 3 || !strings.Contains(out, "FAILED") {
		t.Errorf("exit %d, want 3\n%s", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nope"},
		{"relay", "-url", "ws://192.0.2.1:80/{room}"},
		{"relay", "-mode", "sideways"},
		{"relay", "-payload", "xml"},
		{"relay", "-rooms", "5", "-conns", "2"},
	} {
		if code, _, _ := cli(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, out, _ := cli(t, "list"); code != 0 || !strings.Contains(out, "relay") || !strings.Contains(out, "chat") {
		t.Errorf("list: %d %s", code, out)
	}
}

func TestProcsMergesWorkers(t *testing.T) {
	js := filepath.Join(t.TempDir(), "r.json")
	// A long drain ends as soon as all arrived; the default 2 s once counted one
	// delivery as lost in CI under load.
	code, out, errs := cli(t, "relay", "-url", relayURL(t, relayserver.Options{}), "-procs", "2",
		"-conns", "40", "-rooms", "4", "-rate", "200", "-messages", "10", "-drain", "15s", "-json", js, "-progress", "off", "-pid", strconvPid())
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	r := readResult(t, js)
	if r.Connections.Established != 40 || r.Messages.Sent != 40 || r.Messages.Delivered != 400 ||
		r.Latency.Count != 400 || len(r.Tester.PIDs) != 2 || r.Server == nil {
		t.Errorf("merged: connections %+v messages %+v latency %+v tester %+v", r.Connections, r.Messages, r.Latency, r.Tester)
	}
}

func strconvPid() string { return strconv.Itoa(os.Getpid()) }
