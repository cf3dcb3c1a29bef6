package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
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
	// Polls maps a stream's name to the Prometheus text endpoint it polls. Only the
	// operator sets them (DASHBOARD_POLL); no client can, so the dashboard is no
	// proxy into the network it runs in. Default none.
	Polls map[string]PollConfig
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
		c.PollClient = pollClient()
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
	snapshots  snapshotCache
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
	scheds, err := st.Schedules()
	if err != nil {
		return nil, err
	}
	has := map[string]bool{}
	for _, sc := range scheds {
		has[sc.Name] = true
	}
	s.downsampleQueued = has["downsample"]
	if err := s.applyPoll(has["poll"]); err != nil {
		return nil, err
	}
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
		a, err := loadAgg(q, id, Res1s, k.bucket, s.skipped("ingest"))
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
// each with its full current value (a viewer replaces the bucket it has), at most
// MaxAnswerPoints of them: beyond, the newest go first and the rest with the next
// push.
type Delta struct {
	Type   string             `json:"type"` // "delta"
	Res    int64              `json:"res"`  // 1
	Series map[string]*Series `json:"series"`
	// First and Last are the smallest and largest event ts (Unix ms) among the
	// events this push covers: now - First is the push's worst ingest-to-screen delay.
	// (A push split in parts gives its buckets' bounds.)
	First int64 `json:"first"`
	Last  int64 `json:"last"`
	Sent  int64 `json:"sent"` // Unix ms
}

func (s *Stream) flush() {
	s.flushing = false
	s.lastFlush = time.Now()
	s.snapshots.clear() // a viewer that connects from now on must be sent what this push carries
	if len(s.pending) == 0 {
		return
	}
	d := Delta{Type: "delta", Res: Res1s, Series: make(map[string]*Series, len(s.pending)),
		First: s.pendFirst, Last: s.pendLast, Sent: time.Now().UnixMilli()}
	if part := s.takePending(MaxAnswerPoints); part != nil {
		d.First, d.Last = math.MaxInt64, math.MinInt64
		for key, pm := range part {
			for b := range pm {
				d.First, d.Last = min(d.First, b*1000), max(d.Last, b*1000+999)
			}
			d.Series[key] = seriesOf(pm)
		}
		s.schedulePush()
	} else {
		for key, pm := range s.pending {
			d.Series[key] = seriesOf(pm)
		}
		s.pending = map[string]map[int64]Point{}
		s.pendFirst, s.pendLast = 0, 0
	}
	s.broadcast(d)
}

// takePending removes the newest max pending buckets and returns them, or returns
// nil (removing nothing) when there are no more than max.
func (s *Stream) takePending(max int) map[string]map[int64]Point {
	type ref struct {
		key    string
		bucket int64
	}
	var all []ref
	for key, pm := range s.pending {
		for b := range pm {
			all = append(all, ref{key, b})
		}
	}
	if len(all) <= max {
		return nil
	}
	slices.SortFunc(all, func(a, b ref) int { return cmp.Compare(b.bucket, a.bucket) })
	part := map[string]map[int64]Point{}
	for _, r := range all[:max] {
		if part[r.key] == nil {
			part[r.key] = map[int64]Point{}
		}
		part[r.key][r.bucket] = s.pending[r.key][r.bucket]
		delete(s.pending[r.key], r.bucket)
		if len(s.pending[r.key]) == 0 {
			delete(s.pending, r.key)
		}
	}
	return part
}

// seriesOf puts buckets in time order.
func seriesOf(pm map[int64]Point) *Series {
	ser := &Series{}
	for _, b := range slices.Sorted(maps.Keys(pm)) {
		ser.append(pm[b])
	}
	return ser
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

// skipped returns the report of unreadable buckets for one operation: each is
// logged (the bucket is left out, the rest of the answer stands).
func (s *Stream) skipped(op string) func(error) {
	return func(err error) {
		s.st.Logger().Warn("dashboard: unreadable bucket skipped", "stream", s.name, "op", op, "err", err)
	}
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
	s.snapshots.clear() // snapshots carry the recent errors
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
		n1, err := downsample(q, Res1m, Res1s, s.skipped("downsample"))
		if err != nil {
			return err
		}
		n2, err := downsample(q, Res1h, Res1m, s.skipped("downsample"))
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
