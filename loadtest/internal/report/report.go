// Package report defines the result of a load-test run, its stable JSON
// schema, and its renderings: a terminal table, Markdown and a
// self-contained HTML page with plots.
//
// The JSON schema is identified by Schema; fields are only ever added
// within one schema version, never renamed or removed.
package report

import (
	"encoding/json"
	"io"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/warrenhq/warren/loadtest/internal/hist"
)

// Schema names the JSON layout of Result.
const Schema = "warren-loadtest/v1"

// Result is everything one run measured.
type Result struct {
	Schema   string         `json:"schema"`
	Scenario string         `json:"scenario"`
	Mode     string         `json:"mode"`
	URL      string         `json:"url"`
	Started  time.Time      `json:"started"`
	WallS    float64        `json:"wall_s"`
	Config   map[string]any `json:"config"`
	Host     Host           `json:"host"`

	Connections Connections  `json:"connections"`
	ConnectTime hist.Summary `json:"connect_time"`
	Messages    *Messages    `json:"messages,omitempty"`
	Latency     hist.Summary `json:"latency"` // one-way delivery latency
	// BroadcastLatency is receive time − the server's send stamp of each
	// stamped frame received while senders sent (codecs implementing
	// payload.Stamped, e.g. globe ticks); absent otherwise.
	BroadcastLatency *hist.Summary    `json:"broadcast_latency,omitempty"`
	Errors           map[string]int64 `json:"errors"`

	Server *Proc `json:"server,omitempty"`
	Tester Proc  `json:"tester"`

	Steps []Step `json:"steps,omitempty"`
	Knee  *Step  `json:"knee,omitempty"`

	Timeline   []Point     `json:"timeline"`
	Thresholds []Threshold `json:"thresholds,omitempty"`
	Passed     bool        `json:"passed"`
	Aborted    string      `json:"aborted,omitempty"` // why the run ended early, if it did

	// Raw holds the full histograms; only worker processes emit it.
	Raw *Raw `json:"raw,omitempty"`
}

// Raw carries mergeable histograms between processes.
type Raw struct {
	Latency     *hdr.Snapshot `json:"latency"`
	ConnectTime *hdr.Snapshot `json:"connect_time"`
	Broadcast   *hdr.Snapshot `json:"broadcast,omitempty"`
}

// Host describes the machine the tester ran on.
type Host struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go"`
	OS        string `json:"os"`
}

// Connections counts socket outcomes.
type Connections struct {
	Attempted      int64   `json:"attempted"`
	Established    int64   `json:"established"`
	Failed         int64   `json:"failed"`
	ClosedByServer int64   `json:"closed_by_server"`
	OpenAtEnd      int64   `json:"open_at_end"`
	PerSecond      float64 `json:"per_second"` // established per second of the connect phase (churn rate in connect mode)
	SourceAddrs    int     `json:"source_addrs"`
}

// Messages counts the measured traffic.
type Messages struct {
	Sent          int64   `json:"sent"`
	Expected      int64   `json:"expected"`  // deliveries due: each sent message times its room's receivers
	Delivered     int64   `json:"delivered"` // unique deliveries
	Lost          int64   `json:"lost"`
	Duplicates    int64   `json:"duplicates"`
	Reordered     int64   `json:"reordered"`
	Late          int64   `json:"late"`        // too late to classify, counted as delivered for loss
	Secondary     int64   `json:"secondary"`   // e.g. chat "update" frames after the "add"
	Refused       int64   `json:"refused"`     // messages the server refused and told their sender why (a rate limit): due to no one
	Unmatched     int64   `json:"unmatched"`   // frames without measurement data (greetings, history, garbage)
	Foreign       int64   `json:"foreign"`     // data from another run
	Misrouted     int64   `json:"misrouted"`   // data from a sender in another room
	SelfEchoes    int64   `json:"self_echoes"` // own messages sent back when -self=false
	SendWindowS   float64 `json:"send_window_s"`
	SentPerS      float64 `json:"sent_per_s"`
	DeliveredPerS float64 `json:"delivered_per_s"`
}

// Proc describes a process's resource use over the measured window.
type Proc struct {
	PIDs            []int   `json:"pids,omitempty"`
	CPUSeconds      float64 `json:"cpu_s"`
	CPUPercent      float64 `json:"cpu_percent"` // 100 = one core
	RSSStartBytes   int64   `json:"rss_start_bytes"`
	RSSPeakBytes    int64   `json:"rss_peak_bytes"`
	RSSEndBytes     int64   `json:"rss_end_bytes"`
	RSSPerConnBytes float64 `json:"rss_per_conn_bytes,omitempty"` // (peak - start) / open sockets
	CPUPerMsgUS     float64 `json:"cpu_us_per_msg,omitempty"`     // CPU per delivered message
}

// Step is one step of a ramp.
type Step struct {
	Index         int          `json:"index"`
	Conns         int64        `json:"conns"`
	RatePerSender float64      `json:"rate_per_sender"`
	OfferedPerS   float64      `json:"offered_per_s"` // sends per second asked for
	SentPerS      float64      `json:"sent_per_s"`
	DeliveredPerS float64      `json:"delivered_per_s"`
	Latency       hist.Summary `json:"latency"`
	Lost          int64        `json:"lost"`
	Refused       int64        `json:"refused"` // refused by the server, which told the sender
	Errors        int64        `json:"errors"`
	// Server and tester CPU per delivery over this step (sending and draining);
	// server only when sampled (-pid or -start).
	ServerCPUPerMsgUS float64 `json:"server_cpu_us_per_msg,omitempty"`
	TesterCPUPerMsgUS float64 `json:"tester_cpu_us_per_msg,omitempty"`
	OK                bool    `json:"ok"`
	Why               string  `json:"why,omitempty"` // what broke the SLO
}

// Point is one interval of the timeline.
type Point struct {
	T             float64 `json:"t_s"`
	Conns         int64   `json:"conns"`
	SentPerS      float64 `json:"sent_per_s"`
	DeliveredPerS float64 `json:"delivered_per_s"`
	P50           float64 `json:"p50_ms"`
	P99           float64 `json:"p99_ms"`
	Max           float64 `json:"max_ms"`
	BroadcastP50  float64 `json:"broadcast_p50_ms,omitempty"`
	BroadcastP99  float64 `json:"broadcast_p99_ms,omitempty"`
	ServerCPU     float64 `json:"server_cpu_percent,omitempty"`
	ServerRSS     int64   `json:"server_rss_bytes,omitempty"`
	TesterCPU     float64 `json:"tester_cpu_percent"`
}

// Threshold is one pass/fail bound checked at the end of the run.
type Threshold struct {
	Name  string  `json:"name"`
	Limit float64 `json:"limit"`
	Value float64 `json:"value"`
	OK    bool    `json:"ok"`
}

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Result) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}
