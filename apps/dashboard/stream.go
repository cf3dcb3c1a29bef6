package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// Config configures the dashboard. The zero value of every field is usable.
type Config struct {
	// PushRate bounds the live updates pushed to a stream's viewers, per second.
	// Default 4.
	PushRate float64
	// Keep1s, Keep1m and Keep1h are how long buckets of each resolution are kept.
	// Defaults 1 h, 7 days and 365 days.
	Keep1s, Keep1m, Keep1h time.Duration
	// MaxSeries bounds the series (metric name + tags) of one stream. Default 1,000.
	MaxSeries int
	// MaxEvents bounds the events of one batch. Default 10,000.
	MaxEvents int
	// Late and Future bound an event's ts relative to the server's clock.
	// Defaults 10 min and 1 min.
	Late, Future time.Duration
	// DownsampleAfter is how long after an ingestion the 1 s buckets are folded into
	// 1 min and 1 h buckets. Default 5 s.
	DownsampleAfter time.Duration
	// RetentionEvery is how often expired buckets are deleted. Default 10 min.
	RetentionEvery time.Duration
	// SelfStream is the stream that records this process's own runtime metrics;
	// "-" disables it. Default "warren".
	SelfStream string
	// SelfEvery is how often the self stream samples the runtime. Default 1 s.
	SelfEvery time.Duration
	// PollAnyHost lets streams poll any host; by default only loopback addresses
	// may be polled (a public dashboard must not become a proxy into a network).
	PollAnyHost bool
	// PollClient, if set, is the HTTP client polls use (tests).
	PollClient *http.Client
}

func (c Config) withDefaults() Config {
	if c.PushRate <= 0 {
		c.PushRate = 4
	}
	defd := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	defd(&c.Keep1s, time.Hour)
	defd(&c.Keep1m, 7*24*time.Hour)
	defd(&c.Keep1h, 365*24*time.Hour)
	defd(&c.Late, 10*time.Minute)
	defd(&c.Future, time.Minute)
	defd(&c.DownsampleAfter, 5*time.Second)
	defd(&c.RetentionEvery, 10*time.Minute)
	defd(&c.SelfEvery, time.Second)
	if c.MaxSeries <= 0 {
		c.MaxSeries = 1000
	}
	if c.MaxEvents <= 0 {
		c.MaxEvents = 10000
	}
	if c.SelfStream == "" {
		c.SelfStream = "warren"
	}
	if c.PollClient == nil {
		c.PollClient = pollClient(c.PollAnyHost)
	}
	return c
}

// eventsIngested counts accepted events process-wide (exported at /metrics).
var eventsIngested atomic.Int64

// IngestError is a rejected batch or a failed poll, as viewers are shown it.
type IngestError struct {
	At       int64    `json:"at"`     // Unix ms
	Source   string   `json:"source"` // "http", "websocket" or "poll"
	Message  string   `json:"message"`
	Problems []string `json:"problems,omitempty"`
}

const maxRecentErrors = 10

// PollConfig makes a stream poll a Prometheus text endpoint.
type PollConfig struct {
	URL   string `json:"url"`
	Every string `json:"every"` // a Go duration, 1s to 24h
}

// Stream is one analytics stream: rollups of its series in its own SQLite database,
// live pushes to its viewers, and optionally a poll of an HTTP endpoint.
type Stream struct {
	st   *object.State
	cfg  *Config
	rt   *object.Runtime
	name string
	ids  map[string]int64

	// Live push: buckets changed since the last push, coalesced.
	pending          map[string]map[int64]Point
	pendFirst        int64 // smallest event ts (ms) in pending
	pendLast         int64
	flushing         bool
	lastFlush        time.Time
	downsampleQueued bool

	errors     []IngestError
	poll       *PollConfig
	polling    bool
	counters   map[string]counterSample // last poll's counters, for rates
	self       *object.Stats
	selfSock   object.SocketStats
	selfAt     time.Time
	selfEvents int64
}

type counterSample struct {
	v  float64
	at time.Time
}

func newStream(ctx context.Context, st *object.State, cfg *Config, rt *object.Runtime) (*Stream, error) {
	name, _ := st.ID().Name()
	s := &Stream{st: st, cfg: cfg, rt: rt, name: name, ids: map[string]int64{},
		pending: map[string]map[int64]Point{}, counters: map[string]counterSample{}}
	q := st.SQL()
	if _, err := q.Exec(schema); err != nil {
		return nil, err
	}
	rows, err := q.Query(`SELECT id, key FROM series`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			return nil, err
		}
		s.ids[key] = id
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if s.errors, _, err = object.GetJSON[[]IngestError](st.Storage(), "errors"); err != nil {
		return nil, err
	}
	if p, ok, err := object.GetJSON[PollConfig](st.Storage(), "poll"); err != nil {
		return nil, err
	} else if ok {
		s.poll = &p
	}
	scheds, err := st.Schedules()
	if err != nil {
		return nil, err
	}
	has := map[string]bool{}
	for _, sc := range scheds {
		has[sc.Name] = true
	}
	s.downsampleQueued = has["downsample"]
	if !has["retention"] {
		if err := st.Schedule("retention", object.Every(cfg.RetentionEvery), nil); err != nil {
			return nil, err
		}
	}
	if s.name != "" && s.name == cfg.SelfStream && !has["self"] {
		if err := st.Schedule("self", object.Every(cfg.SelfEvery), nil); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ingest stores a decoded batch: each event goes into its series' 1 s bucket, and
// the 1 min buckets it touches are marked for downsampling. Viewers get the changed
// buckets with the next push.
func (s *Stream) ingest(evs []Event) error {
	type gk struct {
		series string
		bucket int64
	}
	groups := map[gk]*agg{}
	var order []gk
	newSeries := 0
	seen := map[string]bool{}
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	lastBySeries := map[string]int64{}
	for _, e := range evs {
		k := gk{e.Series, floorDiv(e.TsMs, 1000)}
		a := groups[k]
		if a == nil {
			a = newAgg()
			groups[k] = a
			order = append(order, k)
			if _, ok := s.ids[e.Series]; !ok && !seen[e.Series] {
				seen[e.Series] = true
				newSeries++
			}
		}
		a.add(e.Value)
		first = min(first, e.TsMs)
		last = max(last, e.TsMs)
		lastBySeries[e.Series] = max(lastBySeries[e.Series], e.TsMs)
	}
	if len(s.ids)+newSeries > s.cfg.MaxSeries {
		return &BatchError{Problems: []string{fmt.Sprintf("the batch would make %d series; a stream has at most %d (a series is a name plus its tags)",
			len(s.ids)+newSeries, s.cfg.MaxSeries)}}
	}
	q := s.st.SQL()
	for key, ts := range lastBySeries {
		id, ok := s.ids[key]
		if !ok {
			res, err := q.Exec(`INSERT INTO series (key, last_ms) VALUES (?, ?)`, key, ts)
			if err != nil {
				return err
			}
			s.ids[key] = res.LastInsertID
			continue
		}
		if _, err := q.Exec(`UPDATE series SET last_ms = max(last_ms, ?) WHERE id = ?`, ts, id); err != nil {
			return err
		}
	}
	marked := map[gk]bool{}
	for _, k := range order {
		id := s.ids[k.series]
		a, err := loadAgg(q, id, Res1s, k.bucket)
		if err != nil {
			return err
		}
		if err := a.merge(groups[k]); err != nil {
			return err
		}
		if err := storeAgg(q, id, Res1s, k.bucket, a); err != nil {
			return err
		}
		m := gk{k.series, floorDiv(k.bucket, Res1m) * Res1m}
		if !marked[m] {
			marked[m] = true
			if _, err := q.Exec(`INSERT OR IGNORE INTO dirty (res, series, bucket) VALUES (?, ?, ?)`, Res1m, id, m.bucket); err != nil {
				return err
			}
		}
		pm := s.pending[k.series]
		if pm == nil {
			pm = map[int64]Point{}
			s.pending[k.series] = pm
		}
		pm[k.bucket] = a.point(k.bucket)
	}
	if s.pendFirst == 0 || first < s.pendFirst {
		s.pendFirst = first
	}
	s.pendLast = max(s.pendLast, last)
	if !s.downsampleQueued {
		if err := s.st.Schedule("downsample", object.After(s.cfg.DownsampleAfter), nil); err != nil {
			return err
		}
		s.downsampleQueued = true
	}
	n := int64(len(evs))
	s.st.OnCommit(func() { eventsIngested.Add(n) })
	s.schedulePush()
	return nil
}

// schedulePush arranges one push of the pending changes, no sooner than 1/PushRate
// after the previous one. The wait runs outside the object's turns (State.Go).
func (s *Stream) schedulePush() {
	if s.flushing {
		return
	}
	s.flushing = true
	wait := time.Until(s.lastFlush.Add(time.Duration(float64(time.Second) / s.cfg.PushRate)))
	s.st.Go(func(ctx context.Context) func(context.Context) error {
		if wait > 0 {
			time.Sleep(wait)
		}
		return func(context.Context) error { s.flush(); return nil }
	})
}

// Delta is a live update: only the buckets that changed since the previous push,
// each with its full current value (a viewer replaces the bucket it has).
type Delta struct {
	Type   string             `json:"type"` // "delta"
	Res    int64              `json:"res"`  // 1
	Series map[string]*Series `json:"series"`
	// First and Last are the smallest and largest event ts (Unix ms) among the
	// events this push covers: now - First is the push's worst ingest-to-screen delay.
	First int64 `json:"first"`
	Last  int64 `json:"last"`
	Sent  int64 `json:"sent"` // Unix ms
}

func (s *Stream) flush() {
	s.flushing = false
	s.lastFlush = time.Now()
	if len(s.pending) == 0 {
		return
	}
	d := Delta{Type: "delta", Res: Res1s, Series: make(map[string]*Series, len(s.pending)),
		First: s.pendFirst, Last: s.pendLast, Sent: time.Now().UnixMilli()}
	for key, pm := range s.pending {
		ser := &Series{}
		for _, b := range sortedKeys(pm) {
			ser.append(pm[b])
		}
		d.Series[key] = ser
	}
	s.pending = map[string]map[int64]Point{}
	s.pendFirst, s.pendLast = 0, 0
	s.broadcast(d)
}

func (s *Stream) broadcast(v any) {
	views := s.st.WebSockets("view")
	if len(views) == 0 {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		s.st.Logger().Error("dashboard: encode push", "err", err)
		return
	}
	m := object.TextMessage(string(b))
	for _, ws := range views {
		ws.Send(m) //nolint:errcheck // a closed socket is no error here
	}
}

func sortedKeys(m map[int64]Point) []int64 {
	ks := make([]int64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}

// recordError keeps a rejected batch or failed poll among the stream's recent
// errors and shows it to the viewers.
func (s *Stream) recordError(source string, err error) {
	ie := IngestError{At: s.st.Now().UnixMilli(), Source: source, Message: err.Error()}
	var be *BatchError
	if errors.As(err, &be) {
		ie.Message = "batch rejected, nothing stored"
		ie.Problems = be.Problems
		if be.More > 0 {
			ie.Problems = append(ie.Problems, fmt.Sprintf("and %d more", be.More))
		}
	}
	s.errors = append(s.errors, ie)
	if len(s.errors) > maxRecentErrors {
		s.errors = s.errors[len(s.errors)-maxRecentErrors:]
	}
	if err := object.PutJSON(s.st.Storage(), "errors", s.errors); err != nil {
		s.st.Logger().Warn("dashboard: store error", "err", err)
	}
	s.broadcast(map[string]any{"type": "ingest-error", "error": ie})
}

func (s *Stream) decode(body []byte) ([]Event, error) {
	return DecodeBatch(body, DecodeOptions{Now: s.st.Now(), MaxEvents: s.cfg.MaxEvents, Late: s.cfg.Late, Future: s.cfg.Future})
}

// OnSchedule runs the stream's schedules: downsampling after ingestion, retention,
// the self stream's runtime sampling and polls.
func (s *Stream) OnSchedule(ctx context.Context, f object.Firing) error {
	switch f.Name {
	case "downsample":
		s.downsampleQueued = false
		q := s.st.SQL()
		n1, err := downsample(q, Res1m, Res1s)
		if err != nil {
			return err
		}
		n2, err := downsample(q, Res1h, Res1m)
		if err != nil {
			return err
		}
		if n1 >= 10000 || n2 >= 10000 {
			s.downsampleQueued = true
			return s.st.Schedule("downsample", object.After(time.Second), nil)
		}
	case "retention":
		return s.expire()
	case "self":
		return s.sampleSelf()
	case "poll":
		s.startPoll()
	}
	return nil
}

// expire deletes the buckets older than their resolution's retention.
func (s *Stream) expire() error {
	now := s.st.Now().Unix()
	for _, r := range []struct {
		res  int64
		keep time.Duration
	}{{Res1s, s.cfg.Keep1s}, {Res1m, s.cfg.Keep1m}, {Res1h, s.cfg.Keep1h}} {
		if _, err := s.st.SQL().Exec(`DELETE FROM rollup WHERE res = ? AND bucket < ?`, r.res, now-int64(r.keep/time.Second)-r.res); err != nil {
			return err
		}
	}
	return nil
}

// sampleSelf records this process's runtime metrics into the stream.
func (s *Stream) sampleSelf() error {
	now := s.st.Now()
	st, ss := s.rt.Stats(), s.rt.SocketStats()
	ms := now.UnixMilli()
	evs := []Event{
		{Series: "objects", TsMs: ms, Value: float64(st.Objects)},
		{Series: "sockets", TsMs: ms, Value: float64(ss.Open)},
		{Series: "queue depth", TsMs: ms, Value: float64(st.QueueDepth)},
	}
	if s.self != nil {
		if dt := now.Sub(s.selfAt).Seconds(); dt > 0 {
			rate := func(a, b int64) float64 { return math.Max(0, float64(a-b)/dt) }
			evs = append(evs,
				Event{Series: "turns/s", TsMs: ms, Value: rate(st.Turns, s.self.Turns)},
				Event{Series: "commits/s", TsMs: ms, Value: rate(st.Commits, s.self.Commits)},
				Event{Series: "messages/s", TsMs: ms, Value: rate(ss.MessagesIn+ss.MessagesOut, s.selfSock.MessagesIn+s.selfSock.MessagesOut)},
				Event{Series: "events ingested/s", TsMs: ms, Value: rate(eventsIngested.Load(), s.selfEvents)},
			)
		}
	}
	s.self, s.selfSock, s.selfAt, s.selfEvents = &st, ss, now, eventsIngested.Load()
	return s.ingest(evs)
}

// ServeHTTP is the stream's HTTP API (see README.md):
//
//	GET    /parties/stream/<name>          info: series, poll, recent errors
//	POST   /parties/stream/<name>/events   ingest a batch (202 after commit)
//	GET    /parties/stream/<name>/query    ?from=&to=&res=&series=
//	GET    /parties/stream/<name>/poll     the poll config
//	PUT    /parties/stream/<name>/poll     {"url": "...", "every": "5s"}
//	DELETE /parties/stream/<name>/poll
func (s *Stream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sub := subPath(r.URL.EscapedPath())
	switch {
	case sub == "" && r.Method == http.MethodGet:
		s.serveInfo(w)
	case sub == "events" && r.Method == http.MethodPost:
		s.serveIngest(w, r)
	case sub == "query" && r.Method == http.MethodGet:
		s.serveQuery(w, r)
	case sub == "poll":
		s.servePoll(w, r)
	case sub == "" || sub == "events" || sub == "query":
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed here", nil)
	default:
		writeError(w, http.StatusNotFound, "no such endpoint: "+sub+" (try events, query or poll)", nil)
	}
}

func subPath(p string) string {
	p = strings.TrimPrefix(p, "/parties/")
	parts := strings.SplitN(p, "/", 3)
	if len(parts) < 3 {
		return ""
	}
	return strings.Trim(parts[2], "/")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) //nolint:errcheck
}

func writeError(w http.ResponseWriter, code int, msg string, problems []string) {
	writeJSON(w, code, map[string]any{"error": msg, "problems": problems})
}

func (s *Stream) serveIngest(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, err.Error(), nil)
		return
	}
	evs, err := s.decode(body)
	if err == nil {
		err = s.ingest(evs)
	}
	var be *BatchError
	if errors.As(err, &be) {
		s.recordError("http", err)
		probs := be.Problems
		if be.More > 0 {
			probs = append(probs, fmt.Sprintf("and %d more", be.More))
		}
		writeError(w, http.StatusBadRequest, "batch rejected, nothing stored", probs)
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), nil)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": len(evs)})
}

// readBody reads a request body; the runtime has already bounded it to
// object.MaxRequestBody (1 MiB) and answers 413 beyond.
func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, object.MaxRequestBody+1))
}

func (s *Stream) serveInfo(w http.ResponseWriter) {
	type ser struct {
		Key  string `json:"key"`
		Last int64  `json:"last"`
	}
	list := []ser{}
	rows, err := s.st.SQL().Query(`SELECT key, last_ms FROM series ORDER BY key`)
	if err != nil {
		writeError(w, 500, err.Error(), nil)
		return
	}
	for rows.Next() {
		var x ser
		if err := rows.Scan(&x.Key, &x.Last); err != nil {
			writeError(w, 500, err.Error(), nil)
			return
		}
		list = append(list, x)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"stream": s.name, "series": list, "poll": s.poll, "errors": s.errorsList(), "pushRate": s.cfg.PushRate,
		"retention": map[string]string{"1s": s.cfg.Keep1s.String(), "1m": s.cfg.Keep1m.String(), "1h": s.cfg.Keep1h.String()},
	})
}

func (s *Stream) errorsList() []IngestError {
	if s.errors == nil {
		return []IngestError{}
	}
	return s.errors
}

// parseTime reads a query bound: "now", "-15m" (relative to now), Unix ms (or s
// below 1e11) or RFC 3339.
func parseTime(v string, now time.Time, def time.Time) (time.Time, error) {
	switch {
	case v == "":
		return def, nil
	case v == "now":
		return now, nil
	case strings.HasPrefix(v, "-"):
		d, err := time.ParseDuration(v[1:])
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("bad relative time %q (e.g. -15m)", v)
		}
		return now.Add(-d), nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(f) && f >= 0 && f < 1e15 {
		if f < 1e11 {
			f *= 1000
		}
		return time.UnixMilli(int64(f)), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q (now, -15m, Unix ms or RFC 3339)", v)
	}
	return t, nil
}

// MaxPoints bounds the buckets of one series in a query answer.
const MaxPoints = 10000

// pickRes chooses the finest resolution that still holds data from `from` and
// answers at most 4,000 points.
func (s *Stream) pickRes(from, to, now time.Time) int64 {
	span := to.Sub(from).Seconds()
	for _, r := range []struct {
		res  int64
		keep time.Duration
	}{{Res1s, s.cfg.Keep1s}, {Res1m, s.cfg.Keep1m}} {
		if span/float64(r.res) <= 4000 && !from.Before(now.Add(-r.keep)) {
			return r.res
		}
	}
	return Res1h
}

func (s *Stream) serveQuery(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	now := s.st.Now()
	to, err := parseTime(qv.Get("to"), now, now)
	if err != nil {
		writeError(w, http.StatusBadRequest, "to: "+err.Error(), nil)
		return
	}
	from, err := parseTime(qv.Get("from"), now, to.Add(-15*time.Minute))
	if err != nil {
		writeError(w, http.StatusBadRequest, "from: "+err.Error(), nil)
		return
	}
	if !from.Before(to) {
		writeError(w, http.StatusBadRequest, "from must be before to", nil)
		return
	}
	var res int64
	switch qv.Get("res") {
	case "", "auto":
		res = s.pickRes(from, to, now)
	case "1s":
		res = Res1s
	case "1m":
		res = Res1m
	case "1h":
		res = Res1h
	default:
		writeError(w, http.StatusBadRequest, "res must be 1s, 1m, 1h or auto", nil)
		return
	}
	f, t := floorDiv(from.Unix(), res)*res, floorDiv(to.Unix(), res)*res+res
	if (t-f)/res > MaxPoints {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%d points per series; at most %d (use a coarser res)", (t-f)/res, MaxPoints), nil)
		return
	}
	series, err := queryRange(s.st.SQL(), s.ids, qv["series"], res, f, t)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"res": res, "from": f, "to": t, "series": series})
}

// Snapshot is what a viewer gets first: the current window at 1 s resolution.
type Snapshot struct {
	Type     string             `json:"type"` // "snapshot"
	Stream   string             `json:"stream"`
	Res      int64              `json:"res"`
	From     int64              `json:"from"`
	To       int64              `json:"to"`
	Series   map[string]*Series `json:"series"`
	Errors   []IngestError      `json:"errors"`
	Poll     *PollConfig        `json:"poll"`
	PushRate float64            `json:"pushRate"`
	Now      int64              `json:"now"`
}

// OnConnect subscribes a viewer (unless ?mode=ingest) and sends it the current
// window (?window=seconds, default 300, at most 3,600) before any delta.
func (s *Stream) OnConnect(ctx context.Context, ws *object.WebSocket, r *http.Request) error {
	qv := r.URL.Query()
	if qv.Get("mode") == "ingest" {
		return nil
	}
	if err := ws.SetTags("view"); err != nil {
		return err
	}
	window := int64(300)
	if v, err := strconv.ParseInt(qv.Get("window"), 10, 64); err == nil && v > 0 {
		window = min(v, 3600, int64(s.cfg.Keep1s/time.Second))
	}
	now := s.st.Now().Unix()
	series, err := queryRange(s.st.SQL(), s.ids, nil, Res1s, now-window, now+2)
	if err != nil {
		return err
	}
	return ws.SendJSON(Snapshot{Type: "snapshot", Stream: s.name, Res: Res1s, From: now - window, To: now + 1,
		Series: series, Errors: s.errorsList(), Poll: s.poll, PushRate: s.cfg.PushRate, Now: s.st.Now().UnixMilli()})
}

// OnMessage ingests a batch sent over the socket (the same body as POST .../events)
// and answers {"type":"ack","accepted":n} after the commit, or {"type":"error",...}.
func (s *Stream) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	if m.Binary {
		return ws.SendJSON(map[string]any{"type": "error", "error": "send batches as text frames"})
	}
	evs, err := s.decode(m.Data)
	if err == nil {
		err = s.ingest(evs)
	}
	var be *BatchError
	if errors.As(err, &be) {
		s.recordError("websocket", err)
		return ws.SendJSON(map[string]any{"type": "error", "error": "batch rejected, nothing stored", "problems": be.Problems})
	}
	if err != nil {
		return err
	}
	return ws.SendJSON(map[string]any{"type": "ack", "accepted": len(evs)})
}

func (s *Stream) servePoll(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"poll": s.poll})
	case http.MethodDelete:
		if _, err := s.st.Unschedule("poll"); err != nil {
			writeError(w, 500, err.Error(), nil)
			return
		}
		if _, err := s.st.Storage().Delete("poll"); err != nil {
			writeError(w, 500, err.Error(), nil)
			return
		}
		s.poll = nil
		writeJSON(w, http.StatusOK, map[string]any{"poll": nil})
	case http.MethodPut, http.MethodPost:
		body, _ := readBody(r)
		var pc PollConfig
		if err := json.Unmarshal(body, &pc); err != nil {
			writeError(w, http.StatusBadRequest, "poll config: "+jsonMsg(err), nil)
			return
		}
		d, err := validatePoll(pc, s.cfg.PollAnyHost)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), nil)
			return
		}
		if err := object.PutJSON(s.st.Storage(), "poll", pc); err != nil {
			writeError(w, 500, err.Error(), nil)
			return
		}
		if err := s.st.Schedule("poll", object.Every(d), nil); err != nil {
			writeError(w, 500, err.Error(), nil)
			return
		}
		s.poll = &pc
		writeJSON(w, http.StatusOK, map[string]any{"poll": pc})
	default:
		writeError(w, http.StatusMethodNotAllowed, "use GET, PUT or DELETE", nil)
	}
}

func validatePoll(pc PollConfig, anyHost bool) (time.Duration, error) {
	u, err := url.Parse(pc.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return 0, fmt.Errorf("poll url must be an absolute http(s) URL, not %q", truncate(pc.URL, 80))
	}
	if !anyHost && !isLoopbackHost(u.Hostname()) {
		return 0, fmt.Errorf("poll url host %q is not a loopback address (the server allows only those; see DASHBOARD_POLL_ANY_HOST)", u.Hostname())
	}
	d, err := time.ParseDuration(pc.Every)
	if err != nil || d < time.Second || d > 24*time.Hour {
		return 0, fmt.Errorf("poll every must be a duration from 1s to 24h, not %q", pc.Every)
	}
	return d, nil
}
