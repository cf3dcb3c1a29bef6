package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/warrenhq/warren/loadtest/internal/hist"
)

func sample() *Result {
	return &Result{
		Schema: Schema, Scenario: "relay", Mode: "ramp", URL: "ws://127.0.0.1:8787/parties/chat/{room}",
		Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), WallS: 12.5,
		Config:           map[string]any{"conns": 100.0},
		Connections:      Connections{Attempted: 100, Established: 100, OpenAtEnd: 100, PerSecond: 5000, SourceAddrs: 1},
		Messages:         &Messages{Sent: 1000, Expected: 100000, Delivered: 99990, Lost: 10, DeliveredPerS: 9999},
		Latency:          hist.Summary{Count: 99990, P50: 1.5, P90: 3, P99: 12.25, P999: 30, Max: 45},
		BroadcastLatency: &hist.Summary{Count: 5000, P50: 0.75, P99: 4.5, Max: 9},
		Errors:           map[string]int64{"read:closed_1011": 2},
		Tester:           Proc{CPUSeconds: 1.2, CPUPercent: 12, CPUPerMsgUS: 0.8},
		Steps: []Step{{Index: 0, Conns: 100, RatePerSender: 10, OK: true, Latency: hist.Summary{P99: 2}},
			{Index: 1, Conns: 100, RatePerSender: 20, Why: "10 lost"}},
		Timeline: []Point{{T: 1, SentPerS: 100, DeliveredPerS: 10000, P50: 1, P99: 5}, {T: 2, SentPerS: 100, DeliveredPerS: 9000, P50: 2, P99: 9}},
		Passed:   true,
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := sample()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"schema": "warren-loadtest/v1"`, `"p99_ms": 12.25`, `"delivered_per_s": 9999`, `"timeline"`, `"broadcast_latency"`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	var back Result
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, &back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestRenderings(t *testing.T) {
	r := sample()
	r.Knee = &r.Steps[0]
	var tbl, md, html bytes.Buffer
	if err := WriteTable(&tbl, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, r); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{
		tbl.String():  {"p99 12.2", "broadcast latency  p50 0.750 ms", "10 lost", "read:closed_1011 2", "BROKEN: 10 lost", "knee"},
		md.String():   {"| latency |", "| broadcast latency | p50 0.750 ms", "| 1 | 100 | 20 |"},
		html.String(): {"<svg", "<polyline", `id="result"`, "10 lost"},
	} {
		for _, w := range want {
			if !strings.Contains(name, w) {
				t.Errorf("output lacks %q:\n%s", w, name)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	r := sample()
	r.Check(Limits{MaxP99MS: 100, MaxLost: 0, MaxErrors: -1, MinEstablished: 100})
	if r.Passed || len(r.Thresholds) != 3 || r.Thresholds[1].OK || !r.Thresholds[0].OK {
		t.Errorf("thresholds %+v passed %v", r.Thresholds, r.Passed)
	}
	r = sample()
	r.Check(NoLimits)
	if !r.Passed || len(r.Thresholds) != 0 {
		t.Errorf("no limits: %+v", r.Thresholds)
	}
}

func TestMergeBroadcast(t *testing.T) {
	part := func(us ...int64) *Result {
		lat, b := hist.New(), hist.New()
		for _, v := range us {
			b.RecordValue(v)
		}
		return &Result{Raw: &Raw{Latency: lat.Export(), ConnectTime: lat.Export(), Broadcast: b.Export()}}
	}
	out := Merge([]*Result{part(1000, 2000), part(3000)})
	if b := out.BroadcastLatency; b == nil || b.Count != 3 || b.Max < 2.99 || b.Max > 3.01 {
		t.Fatalf("merged broadcast %+v", out.BroadcastLatency)
	}
	if out := Merge([]*Result{{Raw: &Raw{Latency: hist.New().Export(), ConnectTime: hist.New().Export()}}}); out.BroadcastLatency != nil {
		t.Fatalf("no stamps, got %+v", out.BroadcastLatency)
	}
}
