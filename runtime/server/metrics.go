package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// Metric is one value exported at /metrics.
type Metric struct {
	Name  string // Prometheus name, e.g. "warren_alarm_runs_total"
	Help  string
	Type  string // "counter" or "gauge"
	Value func() float64
}

var metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// AddMetric exports m at /metrics after the built-in metrics. Value is called on
// every scrape and must be safe for concurrent use.
func (s *Server) AddMetric(m Metric) error {
	if !metricNameRE.MatchString(m.Name) || (m.Type != "counter" && m.Type != "gauge") || m.Value == nil {
		return fmt.Errorf("server: bad metric %q (type %q)", m.Name, m.Type)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.metrics() {
		if x.Name == m.Name {
			return fmt.Errorf("server: metric %q exported twice", m.Name)
		}
	}
	s.extra = append(s.extra, m)
	return nil
}

// metrics returns the built-in metrics and then the added ones (s.mu held).
func (s *Server) metrics() []Metric {
	rt := s.rt
	c := func(name, help string, f func() float64) Metric {
		return Metric{Name: name, Help: help, Type: "counter", Value: f}
	}
	g := func(name, help string, f func() float64) Metric {
		return Metric{Name: name, Help: help, Type: "gauge", Value: f}
	}
	out := []Metric{
		c("warren_turns_total", "Turns run (events delivered to objects).", func() float64 { return float64(rt.Stats().Turns) }),
		c("warren_failed_turns_total", "Turns that returned an error or panicked and were rolled back.", func() float64 { return float64(rt.Stats().FailedTurns) }),
		c("warren_commits_total", "Batches of turns committed durably.", func() float64 { return float64(rt.Stats().Commits) }),
		c("warren_failed_commits_total", "Batches whose commit failed.", func() float64 { return float64(rt.Stats().FailedCommits) }),
		c("warren_committed_turns_total", "Turns in committed batches.", func() float64 { return float64(rt.Stats().CommittedTurns) }),
		c("warren_activations_total", "Object constructor runs.", func() float64 { return float64(rt.Stats().Activations) }),
		c("warren_evictions_total", "Objects evicted from memory.", func() float64 { return float64(rt.Stats().Evictions) }),
		c("warren_overloaded_total", "Events refused because an object was overloaded.", func() float64 { return float64(rt.Stats().Overloaded) }),
		c("warren_alarm_runs_total", "Alarm and schedule handler runs.", func() float64 { return float64(rt.Stats().AlarmRuns) }),
		c("warren_alarm_retries_total", "Alarm and schedule handler runs that were retries.", func() float64 { return float64(rt.Stats().AlarmRetries) }),
		c("warren_panics_total", "Panics recovered in handlers, constructors, OnCommit callbacks and State.Go work (each reset its object).", func() float64 { return float64(rt.Stats().Panics) }),
		c("warren_turn_timeouts_total", "Turns (handlers, constructors, callbacks) that ran past the turn time limit.", func() float64 { return float64(rt.Stats().Timeouts) }),
		c("warren_abandoned_turns_total", "Turns still running after their limit and grace period, abandoned (their object restarted).", func() float64 { return float64(rt.Stats().Abandoned) }),
		c("warren_alarm_failures_total", "Alarm and schedule handler runs that failed.", func() float64 { return float64(rt.Stats().AlarmFailures) }),
		c("warren_catalog_waits_total", "Commits that waited for the catalogue (the namespace listing's index) to write, because it was 65,536 objects behind.", func() float64 { return float64(rt.Stats().CatalogWaits) }),
		g("warren_objects_active", "Objects in memory.", func() float64 { return float64(rt.Stats().Objects) }),
		g("warren_open_databases", "Open SQLite databases.", func() float64 { return float64(rt.Stats().OpenDatabases) }),
		g("warren_queue_depth", "Events waiting for their turn.", func() float64 { return float64(rt.Stats().QueueDepth) }),
		g("warren_sockets_open", "WebSockets connected.", func() float64 { return float64(rt.SocketStats().Open) }),
		g("warren_socket_objects", "Objects with at least one WebSocket.", func() float64 { return float64(rt.SocketStats().Objects) }),
		g("warren_hibernated_objects", "Objects with WebSockets whose instance is evicted (hibernating).", func() float64 { return float64(rt.SocketStats().Hibernated) }),
		c("warren_socket_messages_in_total", "WebSocket messages received.", func() float64 { return float64(rt.SocketStats().MessagesIn) }),
		c("warren_socket_messages_out_total", "WebSocket messages written.", func() float64 { return float64(rt.SocketStats().MessagesOut) }),
		c("warren_socket_writes_total", "System calls that wrote WebSocket frames: warren_socket_messages_out_total divided by this is the frames each write carried (a socket's queued frames go out together).", func() float64 { return float64(s.writes.Load()) }),
		c("warren_socket_slow_consumers_total", "WebSockets closed with 1013 because their send queue overflowed.", func() float64 { return float64(rt.SocketStats().SlowConsumers) }),
		c("warren_socket_auto_responses_total", "WebSocket requests answered by the auto-response.", func() float64 { return float64(rt.SocketStats().AutoResponses) }),
		c("warren_socket_undelivered_total", "Received WebSocket messages that could not be delivered to their object; the socket was closed (1013) so its client resends.", func() float64 { return float64(rt.SocketStats().Undelivered) }),
		c("warren_sockets_accepted_total", "WebSockets accepted.", func() float64 { return float64(rt.SocketStats().Accepted) }),
		c("warren_sockets_rejected_total", "WebSockets refused by an object limit or OnConnect.", func() float64 { return float64(rt.SocketStats().Rejected) }),
		c("warren_upgrades_refused_total", "WebSocket upgrades refused by the origin check.", func() float64 { return float64(s.refused.Load()) }),
		c("warren_requests_refused_total", "HTTP requests refused by the host, cross-site or request body checks.", func() float64 { return float64(s.refusedRequests.Load()) }),
		g("warren_connections_open", "TCP connections open (HTTP and WebSocket).", func() float64 { return float64(s.connStats().open) }),
		c("warren_connections_refused_total", "TCP connections refused by the per-address limit.", func() float64 { return float64(s.connStats().refused) }),
	}
	if h, ok := s.rt.Config().History.(interface{ Bytes() int64 }); ok && s.rt.Config().Cluster == nil {
		out = append(out, g("warren_history_bytes", "Bytes the point-in-time history (-history) takes on disk, as of its last retention sweep and the writes since.", func() float64 { return float64(h.Bytes()) }))
	}
	if h, ok := s.rt.Config().Cluster.(interface{ HistoryBytes() int64 }); ok {
		out = append(out, g("warren_history_bytes", "Bytes the cluster's point-in-time history takes (objects' logs and snapshots, one replica), as of the node's last read (every 30 s).", func() float64 { return float64(h.HistoryBytes()) }))
	}
	if s.route != nil {
		out = append(out,
			c("warren_routed_requests_total", "Requests and WebSocket upgrades proxied to the node that serves their object.", func() float64 { return float64(s.proxied.Load()) }),
			c("warren_route_retries_total", "Requests located again after a 421 or an unreachable node.", func() float64 { return float64(s.routeRetries.Load()) }),
			c("warren_misdirected_total", "Routed requests answered 421: this node did not serve their object.", func() float64 { return float64(s.misdirected.Load()) }),
			g("warren_routed_sockets_open", "WebSockets proxied to another node, open.", func() float64 { return float64(s.tunnels.count()) }))
	}
	return append(out, s.extra...)
}

// connStats reads the listener's counters; zero before Serve.
func (s *Server) connStats() (st struct{ open, refused int64 }) {
	if l := s.conns.Load(); l != nil {
		st.open, st.refused = l.total.Load(), l.refused.Load()
	}
	return st
}

func (s *Server) handleMetrics(c echo.Context) error {
	if tok := s.cfg.MetricsToken; tok != "" && !bearerOK(c.Request().Header.Get("Authorization"), tok) {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		return c.String(http.StatusUnauthorized, "unauthorized\n")
	}
	s.mu.Lock()
	ms := s.metrics()
	s.mu.Unlock()
	w := c.Response()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.WriteHeader(200)
	writeMetrics(w, ms)
	writeObjectMetrics(w, s.rt.TopObjects(TopObjectMetrics))
	return nil
}

func writeMetrics(w io.Writer, ms []Metric) {
	for _, m := range ms {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", m.Name, m.Help, m.Name, m.Type, m.Name,
			strconv.FormatFloat(m.Value(), 'g', -1, 64))
	}
}

// bearerOK reports whether an Authorization header value is "Bearer <token>". The
// comparison is of SHA-256 digests in constant time, so neither the token's bytes nor
// its length leak through timing.
func bearerOK(header, token string) bool {
	const prefix = "Bearer "
	if len(header) < len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return false
	}
	got := sha256.Sum256([]byte(header[len(prefix):]))
	want := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
