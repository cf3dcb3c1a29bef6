// Package engine runs load-test modes (fixed, ramp, idle, connect) against
// a WebSocket relay and measures them.
//
// Guarantees: every run is bounded in time (Config.Timeout, derived from the
// other durations when zero) and in count; it connects only to loopback
// addresses unless Config.AllowNonLoopback; each socket has one reader
// goroutine and the receive path allocates nothing per message.
package engine

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/warrenhq/warren/loadtest/internal/payload"
	"github.com/warrenhq/warren/loadtest/internal/report"
)

// Modes.
const (
	Fixed   = "fixed"
	Ramp    = "ramp"
	Idle    = "idle"
	Connect = "connect"
)

// Config describes a run. Zero fields take the defaults documented on them.
type Config struct {
	Scenario string
	Mode     string // fixed (default), ramp, idle or connect

	// URL is a ws:// template; {room} and {conn} are replaced by the room
	// and connection names.
	URL string
	// SenderURL, when set, is the template the senders' sockets dial instead of URL
	// (another node of a cluster than the receivers', say).
	SenderURL  string
	RoomPrefix string // room names are RoomPrefix + index (default "lt-<run id>-")
	Codec      payload.Codec
	Header     http.Header

	Conns   int     // sockets (default 100); in connect mode, the cap on connects (0 = no cap)
	Rooms   int     // rooms the sockets are spread over, round robin (default 1)
	Senders int     // senders per room, among its sockets (default 1)
	Rate    float64 // messages per second per sender (default 10)
	Size    int     // frame size in bytes (default 128)
	Self    bool    // the server sends a message back to its sender too

	Duration time.Duration // sending (fixed), holding (idle) or churning (connect) time (default 10 s)
	Messages int           // fixed mode: stop each sender after this many messages (0 = no cap)
	Drain    time.Duration // wait for outstanding deliveries after sending (default 2 s)

	ConnectRate        float64       // new sockets per second (0 = as fast as ConnectConcurrency allows)
	ConnectConcurrency int           // dials in flight (default 64)
	ConnectTimeout     time.Duration // per dial and handshake (default 10 s)
	Hold               time.Duration // connect mode: how long each socket stays open (default 0)
	WriteTimeout       time.Duration // per send (default 5 s)
	ReadBuffer         int           // per-socket read buffer (default 4096)

	Sources          string // source addresses: "" or "auto" (enough 127.0.0.x for the socket count), list or range
	AllowNonLoopback bool

	// Ramp.
	RampBy       string        // "rate" (default) or "conns"
	RampFactor   float64       // rate multiplier per step (default 2)
	RampSteps    int           // maximum steps (default 8)
	StepDuration time.Duration // sending time per step (default 5 s)
	Warmup       time.Duration // ramp: sending at the first step's rate before the first step, not judged
	SLOP99       time.Duration // p99 bound that defines the knee (default 100 ms)

	PIDs     []int         // server processes to sample
	Interval time.Duration // timeline and progress interval (default 1 s)
	Timeout  time.Duration // hard bound on the whole run (default: derived)

	Progress func(report.Point) // called every Interval, if set
	// ExportRaw puts the full histograms in Result.Raw, for merging the
	// results of several processes.
	ExportRaw bool
}

func (c *Config) fill() error {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	defd := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	if c.Mode == "" {
		c.Mode = Fixed
	}
	switch c.Mode {
	case Fixed, Ramp, Idle, Connect:
	default:
		return fmt.Errorf("engine: unknown mode %q (fixed, ramp, idle, connect)", c.Mode)
	}
	if c.Codec == nil {
		c.Codec = payload.Relay{}
	}
	if c.Mode != Connect {
		def(&c.Conns, 100)
	}
	def(&c.Rooms, 1)
	def(&c.Senders, 1)
	if c.Rate <= 0 {
		c.Rate = 10
	}
	def(&c.Size, 128)
	defd(&c.Duration, 10*time.Second)
	defd(&c.Drain, 2*time.Second)
	def(&c.ConnectConcurrency, 64)
	defd(&c.ConnectTimeout, 10*time.Second)
	defd(&c.WriteTimeout, 5*time.Second)
	def(&c.ReadBuffer, 4096)
	if c.RampBy == "" {
		c.RampBy = "rate"
	}
	if c.RampBy != "rate" && c.RampBy != "conns" {
		return fmt.Errorf("engine: -ramp-by must be rate or conns, not %q", c.RampBy)
	}
	if c.RampFactor <= 1 {
		c.RampFactor = 2
	}
	def(&c.RampSteps, 8)
	defd(&c.StepDuration, 5*time.Second)
	defd(&c.SLOP99, 100*time.Millisecond)
	defd(&c.Interval, time.Second)
	if c.Rooms > c.Conns && c.Mode != Connect {
		return fmt.Errorf("engine: %d rooms need at least as many sockets, got %d", c.Rooms, c.Conns)
	}
	if c.Mode == Fixed || c.Mode == Ramp {
		if per := c.Conns / c.Rooms; c.Senders > per {
			return fmt.Errorf("engine: %d senders per room but only %d sockets per room", c.Senders, per)
		}
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("engine: bad URL: %w", err)
	}
	if u.Scheme != "ws" {
		return fmt.Errorf("engine: URL %q: only ws:// is supported", c.URL)
	}
	if c.SenderURL != "" {
		su, err := url.Parse(c.SenderURL)
		if err != nil || su.Scheme != "ws" {
			return fmt.Errorf("engine: sender URL %q: want a ws:// URL", c.SenderURL)
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = c.bound()
	}
	return nil
}

// bound is the default hard time limit: every phase's own bound plus slack.
func (c *Config) bound() time.Duration {
	conns := c.Conns
	if c.Mode == Ramp && c.RampBy == "conns" {
		conns *= c.RampSteps
	}
	connect := c.ConnectTimeout + time.Duration(conns/max(c.ConnectConcurrency, 1)+1)*c.ConnectTimeout/4
	if c.ConnectRate > 0 {
		connect += time.Duration(float64(conns) / c.ConnectRate * float64(time.Second))
	}
	connect = min(connect, 10*time.Minute)
	switch c.Mode {
	case Ramp:
		return connect + c.Warmup + time.Duration(c.RampSteps)*(c.StepDuration+c.Drain+time.Second) + 30*time.Second
	case Connect:
		return c.Duration + c.Hold + c.ConnectTimeout + 30*time.Second
	}
	return connect + c.Duration + c.Drain + 30*time.Second
}
