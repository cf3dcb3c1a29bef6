package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// endpoints are the stream's HTTP API (see README.md) and the one method each
// takes; any other method gets 405 with an Allow header:
//
//	GET  /parties/stream/<name>          info: series, poll, recent errors
//	POST /parties/stream/<name>/events   ingest a batch (202 after commit)
//	GET  /parties/stream/<name>/query    ?from=&to=&res=&series=
//	GET  /parties/stream/<name>/poll     the poll the operator configured
var endpoints = map[string]string{"": http.MethodGet, "events": http.MethodPost, "query": http.MethodGet, "poll": http.MethodGet}

// ServeHTTP serves the endpoints.
func (s *Stream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sub := strings.Trim(r.URL.Path, "/") // the host passes the path below /parties/stream/<name>
	method, ok := endpoints[sub]
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "no such endpoint: "+sub+" (try events, query or poll)", nil)
		return
	case r.Method != method:
		w.Header().Set("Allow", method)
		msg := "method " + r.Method + " not allowed here: use " + method
		if sub == "poll" {
			msg += " (polls are set by the operator with DASHBOARD_POLL, not over HTTP)"
		}
		writeError(w, http.StatusMethodNotAllowed, msg, nil)
		return
	}
	switch sub {
	case "":
		s.serveInfo(w)
	case "events":
		s.serveIngest(w, r)
	case "query":
		s.serveQuery(w, r)
	case "poll":
		object.WriteJSON(w, http.StatusOK, map[string]any{"poll": s.poll})
	}
}

func writeError(w http.ResponseWriter, code int, msg string, problems []string) {
	object.WriteJSON(w, code, map[string]any{"error": msg, "problems": problems})
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
	object.WriteJSON(w, http.StatusAccepted, map[string]any{"accepted": len(evs)})
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
	object.WriteJSON(w, http.StatusOK, map[string]any{
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

// MaxAnswerPoints bounds the buckets one answer reads and carries, all series
// together: a query response, a viewer's snapshot, a live delta (about 2 MB of JSON,
// a few hundred ms of reading on a small machine). Without it one ?window=3600
// snapshot was 19.8 MB, built in 3.1 s.
const MaxAnswerPoints = 20_000

// autoRes lists the resolutions res=auto may answer with, finest first: from the
// finest whose retention still covers from and which gives at most 4,000 points a
// series, up to 1 h. A coarser one is used when a finer one's answer would exceed
// MaxAnswerPoints.
func (s *Stream) autoRes(from, to, now time.Time) []int64 {
	span := to.Sub(from).Seconds()
	var out []int64
	for _, r := range []struct {
		res  int64
		keep time.Duration
	}{{Res1s, s.cfg.Keep1s}, {Res1m, s.cfg.Keep1m}} {
		if len(out) > 0 || span/float64(r.res) <= 4000 && !from.Before(now.Add(-r.keep)) {
			out = append(out, r.res)
		}
	}
	return append(out, Res1h)
}

// seriesRefs lists the series named in keys (every series when keys is empty) in
// key order; unknown keys are left out.
func (s *Stream) seriesRefs(keys []string) []seriesRef {
	var out []seriesRef
	if len(keys) == 0 {
		for k, id := range s.ids {
			out = append(out, seriesRef{k, id})
		}
	} else {
		for _, k := range keys {
			if id, ok := s.ids[k]; ok && !slices.ContainsFunc(out, func(r seriesRef) bool { return r.key == k }) {
				out = append(out, seriesRef{k, id})
			}
		}
	}
	slices.SortFunc(out, func(a, b seriesRef) int { return strings.Compare(a.key, b.key) })
	return out
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
	var candidates []int64
	switch qv.Get("res") {
	case "", "auto":
		candidates = s.autoRes(from, to, now)
	case "1s":
		candidates = []int64{Res1s}
	case "1m":
		candidates = []int64{Res1m}
	case "1h":
		candidates = []int64{Res1h}
	default:
		writeError(w, http.StatusBadRequest, "res must be 1s, 1m, 1h or auto", nil)
		return
	}
	series := s.seriesRefs(qv["series"])
	for _, res := range candidates {
		f, t := floorDiv(from.Unix(), res)*res, floorDiv(to.Unix(), res)*res+res
		if (t-f)/res > MaxPoints {
			if len(candidates) == 1 {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("%d points per series; at most %d (use a coarser res)", (t-f)/res, MaxPoints), nil)
				return
			}
			continue
		}
		answer, ok, err := queryRange(s.st.SQL(), series, res, f, t, MaxAnswerPoints, s.skipped("query"))
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error(), nil)
			return
		}
		if ok {
			object.WriteJSON(w, http.StatusOK, map[string]any{"res": res, "from": f, "to": t, "series": answer})
			return
		}
	}
	writeError(w, http.StatusBadRequest, fmt.Sprintf("more than %d points in all; narrow the range, name series with ?series=, or use a coarser res", MaxAnswerPoints), nil)
}
