package engine

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/loadtest/internal/netx"
	"github.com/warrenhq/warren/loadtest/internal/payload"
	"github.com/warrenhq/warren/loadtest/internal/relayserver"
	"github.com/warrenhq/warren/loadtest/internal/report"
)

// relay starts a relay server on loopback and returns its URL template.
func relay(t *testing.T, opt relayserver.Options) string {
	t.Helper()
	srv := httptest.NewServer(relayserver.New(opt))
	t.Cleanup(srv.Close)
	return "ws://" + srv.Listener.Addr().String() + "/parties/chat/{room}?_pk={conn}"
}

// small is a fixed run of 2 rooms × 5 sockets, one sender per room sending
// exactly 20 messages: 200 deliveries due with Self. The drain ends as soon as
// everything due has arrived, so its 3 s only cost the runs that lose messages on
// purpose; 500 ms counted a delivery late on a loaded CI machine as lost.
func small(url string) Config {
	return Config{
		Mode: Fixed, URL: url, Conns: 10, Rooms: 2, Senders: 1, Rate: 400, Messages: 20,
		Duration: 5 * time.Second, Drain: 3 * time.Second, Self: true,
		Sources: "127.0.0.1-127.0.0.3",
	}
}

// runRampOK runs a ramp that every step should pass, again (at most 3 times) only
// when a step failed for the tester's own reason: its senders fell behind the offered
// rate, which on a loaded machine (CI saw 67/s of 80/s in a 300 ms step) says nothing
// of the ramp's logic. Any other verdict is returned at once.
func runRampOK(t *testing.T, cfg Config) *report.Result {
	t.Helper()
	var res *report.Result
	for attempt := 1; attempt <= 3; attempt++ {
		res = runOK(t, cfg)
		behind := false
		for _, st := range res.Steps {
			behind = behind || strings.HasPrefix(st.Why, "senders fell behind")
		}
		if !behind {
			return res
		}
		t.Logf("attempt %d: the senders fell behind (a loaded machine): %+v", attempt, res.Steps)
	}
	return res
}

func runOK(t *testing.T, cfg Config) *report.Result {
	t.Helper()
	start := time.Now()
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Aborted != "" {
		t.Errorf("aborted: %s", res.Aborted)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("run took %v", d)
	}
	return res
}

// counts is the part of Messages that fault injection determines exactly.
type counts struct {
	Sent, Expected, Delivered, Lost, Duplicates, Reordered, Unmatched, Misrouted, Foreign int64
}

func countsOf(m *report.Messages) counts {
	return counts{m.Sent, m.Expected, m.Delivered, m.Lost, m.Duplicates, m.Reordered, m.Unmatched, m.Misrouted, m.Foreign}
}

func TestFixedCountsFaults(t *testing.T) {
	tests := []struct {
		name     string
		opt      relayserver.Options
		messages int
		want     counts
	}{
		{"faithful", relayserver.Options{}, 20,
			counts{Sent: 40, Expected: 200, Delivered: 200}},
		{"drop every 10th", relayserver.Options{DropEvery: 10}, 20,
			counts{Sent: 40, Expected: 200, Delivered: 180, Lost: 20}},
		{"duplicate every 5th", relayserver.Options{DupEvery: 5}, 20,
			counts{Sent: 40, Expected: 200, Delivered: 200, Duplicates: 40}},
		// Deliveries 4, 8, 12, 16, 20 are held and sent after the next one.
		{"reorder every 4th", relayserver.Options{ReorderEvery: 4}, 21,
			counts{Sent: 42, Expected: 210, Delivered: 210, Reordered: 50}},
		{"garbage before every 3rd", relayserver.Options{GarbageEvery: 3}, 20,
			counts{Sent: 40, Expected: 200, Delivered: 200, Unmatched: 60}},
		{"chat greeting", relayserver.Options{Chat: true}, 20,
			counts{Sent: 40, Expected: 200, Delivered: 200, Unmatched: 10}},
		{"drop every 7th, duplicate every 5th", relayserver.Options{DropEvery: 7, DupEvery: 5}, 20,
			counts{Sent: 40, Expected: 200, Delivered: 180, Lost: 20, Duplicates: 40}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := small(relay(t, tt.opt))
			cfg.Messages = tt.messages
			// With nothing lost the drain ends as soon as all arrived, so a long one only
			// costs time on a loaded machine (CI saw 7 of 200 late after 3 s). With losses
			// the whole drain always runs: 10 s, since CI under load once saw one delivery
			// (and its duplicate) still under way 3 s after the last send.
			cfg.Drain = 15 * time.Second
			if tt.want.Lost != 0 {
				cfg.Drain = 10 * time.Second
			}
			res := runOK(t, cfg)
			if diff := cmp.Diff(tt.want, countsOf(res.Messages)); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			if len(res.Errors) != 0 {
				t.Errorf("errors: %v", res.Errors)
			}
			if res.Connections.Established != 10 || res.Connections.SourceAddrs != 3 {
				t.Errorf("connections: %+v", res.Connections)
			}
		})
	}
}

func TestFixedLatencyPlausible(t *testing.T) {
	cfg := small(relay(t, relayserver.Options{}))
	cfg.PIDs = []int{os.Getpid()} // the server runs in this process
	res := runOK(t, cfg)
	l := res.Latency
	if l.Count != 200 {
		t.Errorf("latency count = %d, want 200", l.Count)
	}
	// Loopback delivery: above zero, far below a second, percentiles ordered.
	if !(l.Min > 0 && l.P50 >= l.Min && l.P90 >= l.P50 && l.P99 >= l.P90 && l.Max >= l.P999 && l.Max < 1000) {
		t.Errorf("implausible latency: %+v", l)
	}
	if res.ConnectTime.Count != 10 || res.ConnectTime.Max <= 0 {
		t.Errorf("connect time: %+v", res.ConnectTime)
	}
	if res.Server == nil || res.Server.RSSPeakBytes <= 0 || res.Tester.CPUPerMsgUS <= 0 {
		t.Errorf("process stats: server %+v tester %+v", res.Server, res.Tester)
	}
	if len(res.Timeline) == 0 {
		t.Error("empty timeline")
	}
}

func TestChatCodecAgainstNoSelfServer(t *testing.T) {
	cfg := small(relay(t, relayserver.Options{NoSelf: true, Chat: true}))
	cfg.Codec = payload.Chat{}
	cfg.Self = false
	res := runOK(t, cfg)
	// Each sender's 20 messages reach the 4 other sockets of its room.
	want := counts{Sent: 40, Expected: 160, Delivered: 160, Unmatched: 10}
	if diff := cmp.Diff(want, countsOf(res.Messages)); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

// TestRefusedMessagesAreNotLost: a message the server refuses and tells its sender
// of (Warren's chat answers a rate-limited template client so, issue 16) is counted
// as refused and due to no one, not as lost to every receiver.
func TestRefusedMessagesAreNotLost(t *testing.T) {
	cfg := small(relay(t, relayserver.Options{Chat: true, RefuseEvery: 4}))
	cfg.Codec = payload.Chat{}
	res := runOK(t, cfg)
	// Each sender's 20 messages: 5 refused, 15 relayed to the 5 sockets of its room.
	want := counts{Sent: 40, Expected: 150, Delivered: 150, Unmatched: 10}
	if diff := cmp.Diff(want, countsOf(res.Messages)); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if res.Messages.Refused != 10 {
		t.Errorf("refused %d, want 10", res.Messages.Refused)
	}
}

func TestSelfMismatchIsVisible(t *testing.T) {
	// The server echoes but the run says it does not: echoes are counted
	// apart, not as deliveries.
	cfg := small(relay(t, relayserver.Options{}))
	cfg.Self = false
	res := runOK(t, cfg)
	if res.Messages.SelfEchoes != 40 || res.Messages.Lost != 0 || res.Messages.Delivered != 160 {
		t.Errorf("messages: %+v", res.Messages)
	}
}

func TestServerCloseAndStallEndOnTime(t *testing.T) {
	for _, opt := range []relayserver.Options{{CloseAfter: 10}, {StallAfter: 5}} {
		cfg := small(relay(t, opt))
		cfg.Drain = 300 * time.Millisecond
		res := runOK(t, cfg)
		// A closed sender stops sending, so only the stall loses messages.
		if opt.StallAfter > 0 && res.Messages.Lost != 150 {
			t.Errorf("%+v: no loss reported: %+v", opt, res.Messages)
		}
		if opt.CloseAfter > 0 && (res.Connections.ClosedByServer != 10 || res.Errors["read:closed_1011"] != 10) {
			t.Errorf("close: connections %+v errors %v", res.Connections, res.Errors)
		}
	}
}

// garbageServer completes the handshake, then writes bytes that are not
// WebSocket frames.
func TestProtocolGarbageCounted(t *testing.T) {
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c.NetConn().Write([]byte{0xf3, 0x05, 'x', 'y'}) // reserved bits, unknown opcode
		time.Sleep(time.Second)
		c.Close()
	}))
	defer srv.Close()
	cfg := small("ws://" + srv.Listener.Addr().String() + "/{room}")
	cfg.Drain = 200 * time.Millisecond
	res := runOK(t, cfg)
	// The run ends once nothing is due; a socket whose reader had not reached the
	// garbage by then is still open. Every socket is one or the other, garbage is
	// never read as anything but a protocol error (a sender may also fail to write
	// on its broken socket).
	p := res.Errors["read:protocol"]
	if p == 0 || p+res.Connections.OpenAtEnd != 10 {
		t.Errorf("errors = %v, open at end %d", res.Errors, res.Connections.OpenAtEnd)
	}
	for kind := range res.Errors {
		if kind != "read:protocol" && !strings.HasPrefix(kind, "write:") {
			t.Errorf("garbage counted as %s: %v", kind, res.Errors)
		}
	}
}

func TestConnectRefusedCounted(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cfg := small("ws://" + addr + "/{room}")
	res := runOK(t, cfg)
	if res.Connections.Failed != 10 || res.Errors["connect:refused"] != 10 || res.Messages.Sent != 0 {
		t.Errorf("connections %+v errors %v", res.Connections, res.Errors)
	}
}

func TestNonLoopbackRefused(t *testing.T) {
	cfg := small("ws://192.0.2.1:8787/{room}")
	if _, err := Run(context.Background(), cfg); !errors.Is(err, netx.ErrNotLoopback) {
		t.Fatalf("err = %v", err)
	}
}

func TestIdle(t *testing.T) {
	cfg := Config{Mode: Idle, URL: relay(t, relayserver.Options{}), Conns: 300, Rooms: 3,
		Duration: 300 * time.Millisecond, Interval: 100 * time.Millisecond, PIDs: []int{os.Getpid()}}
	res := runOK(t, cfg)
	if res.Connections.OpenAtEnd != 300 || res.Server == nil || res.Tester.RSSPerConnBytes == 0 {
		t.Errorf("connections %+v server %+v tester %+v", res.Connections, res.Server, res.Tester)
	}
	if res.Messages != nil {
		t.Errorf("idle run has messages: %+v", res.Messages)
	}
}

func TestConnectChurn(t *testing.T) {
	cfg := Config{Mode: Connect, URL: relay(t, relayserver.Options{}), Conns: 300,
		Duration: 2 * time.Second, ConnectConcurrency: 4}
	res := runOK(t, cfg)
	c := res.Connections
	if c.Established != 300 || c.Failed != 0 || c.PerSecond <= 0 || res.ConnectTime.Count != 300 {
		t.Errorf("connections %+v connect time %+v errors %v", c, res.ConnectTime, res.Errors)
	}
}

func TestRampFindsKnee(t *testing.T) {
	cfg := Config{Mode: Ramp, URL: relay(t, relayserver.Options{}), Conns: 20, Rooms: 2, Rate: 20,
		RampSteps: 3, StepDuration: 300 * time.Millisecond, Drain: time.Second, SLOP99: time.Second, Self: true}
	res := runRampOK(t, cfg)
	if len(res.Steps) != 3 || res.Knee == nil || res.Knee.Index != 2 {
		t.Fatalf("steps %+v knee %+v", res.Steps, res.Knee)
	}
	if r := res.Steps[2].RatePerSender; r != 80 {
		t.Errorf("step 2 rate = %v, want 80", r)
	}
	// A server that drops breaks the SLO at the first step.
	cfg.URL = relay(t, relayserver.Options{DropEvery: 3})
	res = runOK(t, cfg)
	if len(res.Steps) != 1 || res.Knee != nil || !strings.Contains(res.Steps[0].Why, "lost") {
		t.Errorf("with loss: steps %+v knee %+v", res.Steps, res.Knee)
	}
}

// A ramp's warm-up sends at the first rate before the first step and is in no
// step; each step reports the server's (here: this process, which runs the
// relay) and the tester's CPU per delivery over that step alone.
func TestRampWarmupAndStepCPU(t *testing.T) {
	// Steps of a second at 2,000+ deliveries/s: the server's CPU is read from
	// /proc in clock ticks (10 ms), which a 300 ms step on an idle machine missed.
	const step = time.Second
	cfg := Config{Mode: Ramp, URL: relay(t, relayserver.Options{}), Conns: 20, Rooms: 1, Rate: 100,
		RampSteps: 2, StepDuration: step, Warmup: 500 * time.Millisecond, Drain: time.Second,
		SLOP99: time.Second, Self: true, PIDs: []int{os.Getpid()}}
	res := runOK(t, cfg)
	if len(res.Steps) != 2 || res.Knee == nil {
		t.Fatalf("steps %+v", res.Steps)
	}
	var inSteps float64
	for _, s := range res.Steps {
		inSteps += s.SentPerS * step.Seconds()
		if s.ServerCPUPerMsgUS <= 0 || s.TesterCPUPerMsgUS <= 0 {
			t.Errorf("step %d: server %v µs, tester %v µs per delivery", s.Index, s.ServerCPUPerMsgUS, s.TesterCPUPerMsgUS)
		}
	}
	// The warm-up's ~50 messages are sent but in no step (which hold ~100 + ~200).
	if sent := float64(res.Messages.Sent); sent < inSteps+12 {
		t.Errorf("sent %v, steps sent %v: no warm-up", sent, inSteps)
	}
}

func TestRampByConns(t *testing.T) {
	cfg := Config{Mode: Ramp, RampBy: "conns", URL: relay(t, relayserver.Options{}), Conns: 10, Rooms: 2, Rate: 50,
		RampSteps: 3, StepDuration: 200 * time.Millisecond, Drain: time.Second, SLOP99: time.Second, Self: true}
	res := runRampOK(t, cfg)
	if len(res.Steps) != 3 || res.Steps[2].Conns != 30 || res.Messages.Lost != 0 || res.Knee == nil {
		t.Errorf("steps %+v messages %+v", res.Steps, res.Messages)
	}
}
