package engine

import (
	"context"
	"errors"
	"io"
	"net"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/warrenhq/warren/loadtest/internal/netx"
	"github.com/warrenhq/warren/loadtest/internal/wsclient"
)

// errCounter counts errors by "phase:kind". Errors are rare, so a mutex
// and a map are enough.
type errCounter struct {
	mu sync.Mutex
	m  map[string]int64
}

func (e *errCounter) add(phase string, err error) { e.addKind(phase + ":" + Kind(err)) }

func (e *errCounter) addKind(k string) {
	e.mu.Lock()
	e.m[k]++
	e.mu.Unlock()
}

func (e *errCounter) total() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var n int64
	for _, v := range e.m {
		n += v
	}
	return n
}

func (e *errCounter) snapshot() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int64, len(e.m))
	for k, v := range e.m {
		out[k] = v
	}
	return out
}

// Kind classifies err into a short stable name, e.g. "refused",
// "timeout", "http_429", "closed_1011", "protocol".
func Kind(err error) string {
	var ce *wsclient.CloseError
	var se *wsclient.StatusError
	var ne net.Error
	switch {
	case err == nil:
		return "none"
	case errors.As(err, &ce):
		return "closed_" + strconv.Itoa(ce.Code)
	case errors.As(err, &se):
		return "http_" + strconv.Itoa(se.Code)
	case errors.Is(err, wsclient.ErrTooLarge):
		return "too_large"
	case errors.Is(err, wsclient.ErrProtocol):
		return "protocol"
	case errors.Is(err, netx.ErrNotLoopback):
		return "not_loopback"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return "no_source_port"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "fd_limit"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ETIMEDOUT),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, wsclient.ErrHandshake):
		return "handshake"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, net.ErrClosed):
		return "closed_locally"
	}
	return "other"
}

// configMap lists the settings of a run for the report.
func configMap(c Config) map[string]any {
	m := map[string]any{
		"conns": c.Conns, "rooms": c.Rooms, "senders_per_room": c.Senders, "rate_per_sender": c.Rate,
		"size": c.Size, "self": c.Self, "duration_s": c.Duration.Seconds(), "messages_per_sender": c.Messages,
		"drain_s": c.Drain.Seconds(), "connect_rate": c.ConnectRate, "connect_concurrency": c.ConnectConcurrency,
		"payload": c.Codec.Name(), "sources": c.Sources, "timeout_s": c.Timeout.Seconds(),
	}
	switch c.Mode {
	case Ramp:
		m["ramp_by"], m["ramp_factor"], m["ramp_steps"] = c.RampBy, c.RampFactor, c.RampSteps
		m["step_duration_s"], m["slo_p99_ms"] = c.StepDuration.Seconds(), float64(c.SLOP99)/float64(time.Millisecond)
		m["warmup_s"] = c.Warmup.Seconds()
	case Connect:
		m["hold_s"] = c.Hold.Seconds()
	}
	return m
}

func sortedKeys(m map[string]int64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
