package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of ingestion. A batch that breaks any of them is rejected whole.
const (
	MaxNameLen     = 128 // bytes of a metric name
	MaxTags        = 8   // tags per event
	MaxTagKeyLen   = 64
	MaxTagValueLen = 128
	maxErrors      = 10 // errors reported per rejected batch
)

// Event is one ingested measurement, as clients send it:
//
//	{"ts": 1767225600000, "name": "latency_ms", "value": 12.5, "tags": {"route": "/api"}}
//
// ts is optional: Unix time in milliseconds (a number below 1e11 is taken as seconds)
// or an RFC 3339 string; absent or null means the time the server received it.
type Event struct {
	Series string // name plus sorted tags: name{k="v",...}
	TsMs   int64
	Value  float64
}

type wireEvent struct {
	Ts    json.RawMessage   `json:"ts"`
	Name  *string           `json:"name"`
	Value json.RawMessage   `json:"value"`
	Tags  map[string]string `json:"tags"`
}

// BatchError is a rejected batch: every problem found (up to 10), each naming the
// event by its position (1-based line of JSON lines, or 0-based array index).
type BatchError struct {
	Problems []string `json:"problems"`
	More     int      `json:"more,omitempty"` // problems not listed
}

func (e *BatchError) Error() string {
	s := strings.Join(e.Problems, "; ")
	if e.More > 0 {
		s += fmt.Sprintf("; and %d more", e.More)
	}
	return s
}

func (e *BatchError) add(format string, args ...any) {
	if len(e.Problems) < maxErrors {
		e.Problems = append(e.Problems, fmt.Sprintf(format, args...))
	} else {
		e.More++
	}
}

// DecodeOptions bound a batch.
type DecodeOptions struct {
	Now       time.Time
	MaxEvents int           // default 10,000
	Late      time.Duration // how old ts may be (default 10 min)
	Future    time.Duration // how far ahead ts may be (default 1 min)
}

// DecodeBatch parses a batch: a JSON array of events, or JSON lines (one event
// object per line; blank lines are ignored). It returns every event or, if any is
// invalid, a *BatchError listing the problems: a batch is accepted or rejected whole.
func DecodeBatch(body []byte, o DecodeOptions) ([]Event, error) {
	if o.MaxEvents <= 0 {
		o.MaxEvents = 10000
	}
	if o.Late <= 0 {
		o.Late = 10 * time.Minute
	}
	if o.Future <= 0 {
		o.Future = time.Minute
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	trimmed := bytes.TrimSpace(body)
	be := &BatchError{}
	var out []Event
	switch {
	case len(trimmed) == 0:
		be.add("empty batch: send a JSON array of events or JSON lines")
	case trimmed[0] == '[':
		// Fast path: one pass over a well-formed array; on a JSON or type error,
		// the slow path below decodes element by element to name the culprits.
		var ws []wireEvent
		if json.Unmarshal(trimmed, &ws) == nil {
			if len(ws) > o.MaxEvents {
				be.add("%d events in one batch, at most %d", len(ws), o.MaxEvents)
				break
			}
			out = make([]Event, 0, len(ws))
			for i := range ws {
				ev, err := checkEvent(&ws[i], o)
				if err != nil {
					be.add("event %d: %s", i, err)
					continue
				}
				out = append(out, ev)
			}
			break
		}
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			be.add("not a valid JSON array: %s", jsonMsg(err))
			break
		}
		if len(items) > o.MaxEvents {
			be.add("%d events in one batch, at most %d", len(items), o.MaxEvents)
			break
		}
		out = make([]Event, 0, len(items))
		for i, raw := range items {
			ev, err := decodeEvent(raw, o)
			if err != nil {
				be.add("event %d: %s", i, err)
				continue
			}
			out = append(out, ev)
		}
	case trimmed[0] == '{':
		n := bytes.Count(trimmed, []byte{'\n'}) + 1
		if n > o.MaxEvents*2 {
			be.add("%d lines in one batch, at most %d events", n, o.MaxEvents)
			break
		}
		out = make([]Event, 0, n)
		line := 0
		for rest := body; len(rest) > 0; {
			var l []byte
			l, rest, _ = bytes.Cut(rest, []byte{'\n'})
			line++
			l = bytes.TrimSpace(l)
			if len(l) == 0 {
				continue
			}
			if len(out) >= o.MaxEvents {
				be.add("more than %d events in one batch", o.MaxEvents)
				break
			}
			ev, err := decodeEvent(l, o)
			if err != nil {
				be.add("line %d: %s", line, err)
				continue
			}
			out = append(out, ev)
		}
	default:
		be.add("a batch is a JSON array of events or JSON lines, not %q…", truncate(string(trimmed), 20))
	}
	if len(be.Problems) > 0 {
		return nil, be
	}
	if len(out) == 0 {
		return nil, &BatchError{Problems: []string{"no events in batch"}}
	}
	return out, nil
}

func decodeEvent(raw []byte, o DecodeOptions) (Event, error) {
	var w wireEvent
	if len(raw) == 0 || raw[0] != '{' {
		return Event{}, errors.New("an event is a JSON object {ts?, name, value, tags?}")
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return Event{}, errors.New(jsonMsg(err))
	}
	return checkEvent(&w, o)
}

// checkEvent validates a decoded event and builds its series key.
func checkEvent(w *wireEvent, o DecodeOptions) (Event, error) {
	if w.Name == nil {
		return Event{}, errors.New(`"name" is missing`)
	}
	if err := validName(*w.Name); err != nil {
		return Event{}, err
	}
	if len(w.Value) == 0 || string(w.Value) == "null" {
		return Event{}, errors.New(`"value" is missing`)
	}
	v, err := strconv.ParseFloat(string(w.Value), 64)
	if err != nil || w.Value[0] == '"' {
		return Event{}, fmt.Errorf(`"value" must be a number, not %s`, truncate(string(w.Value), 24))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Event{}, errors.New(`"value" must be finite`)
	}
	ts, err := parseTs(w.Ts, o.Now)
	if err != nil {
		return Event{}, err
	}
	// Times are compared, not durations: Now.Sub(ts) saturates at ±292 years, so a
	// far-future ts (9999-12-31) passed a duration check.
	if ts.Before(o.Now.Add(-o.Late)) {
		return Event{}, fmt.Errorf(`"ts" %s is more than %s in the past`, ts.UTC().Format(time.RFC3339), o.Late)
	} else if ts.After(o.Now.Add(o.Future)) {
		return Event{}, fmt.Errorf(`"ts" %s is more than %s in the future`, ts.UTC().Format(time.RFC3339), o.Future)
	}
	key, err := SeriesKey(*w.Name, w.Tags)
	if err != nil {
		return Event{}, err
	}
	return Event{Series: key, TsMs: ts.UnixMilli(), Value: v}, nil
}

func parseTs(raw json.RawMessage, now time.Time) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return now, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, errors.New(`"ts" is not a valid string`)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf(`"ts" %q is not RFC 3339 (e.g. 2026-01-02T15:04:05Z)`, truncate(s, 40))
		}
		return t, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e15 {
		return time.Time{}, fmt.Errorf(`"ts" must be Unix milliseconds or an RFC 3339 string, not %s`, truncate(string(raw), 24))
	}
	if f < 1e11 {
		f *= 1000 // seconds
	}
	return time.UnixMilli(int64(f)), nil
}

// validName checks a metric name: 1 to 128 bytes of letters, digits and _.:/-%()
// or spaces inside.
func validName(s string) error {
	if s == "" || len(s) > MaxNameLen {
		return fmt.Errorf(`"name" must have 1 to %d bytes`, MaxNameLen)
	}
	if !utf8.ValidString(s) {
		return errors.New(`"name" is not valid UTF-8`)
	}
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_.:/-%() ", r) {
			continue
		}
		return fmt.Errorf(`"name" %q has the character %q (use letters, digits and _.:/-%%() )`, truncate(s, 40), r)
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return fmt.Errorf(`"name" %q starts or ends with a space`, truncate(s, 40))
	}
	return nil
}

func validTagKey(k string) bool {
	if k == "" || len(k) > MaxTagKeyLen {
		return false
	}
	for i, r := range k {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

// SeriesKey renders a metric name and its tags as one series key, Prometheus
// style: name{k="v",...} with the tags sorted (just name when there are none).
func SeriesKey(name string, tags map[string]string) (string, error) {
	if len(tags) == 0 {
		return name, nil
	}
	if len(tags) > MaxTags {
		return "", fmt.Errorf(`%d tags, at most %d`, len(tags), MaxTags)
	}
	keys := make([]string, 0, len(tags))
	for k, v := range tags {
		if !validTagKey(k) {
			return "", fmt.Errorf(`tag key %q must match [A-Za-z_][A-Za-z0-9_]* (at most %d bytes)`, truncate(k, 40), MaxTagKeyLen)
		}
		if len(v) > MaxTagValueLen || !utf8.ValidString(v) {
			return "", fmt.Errorf(`tag %q: value must be valid UTF-8 of at most %d bytes`, k, MaxTagValueLen)
		}
		for _, r := range v {
			if r < 0x20 || r == 0x7f {
				return "", fmt.Errorf(`tag %q: value has control characters`, k)
			}
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteString(`="`)
		v := tags[k]
		v = strings.ReplaceAll(v, `\`, `\\`)
		v = strings.ReplaceAll(v, `"`, `\"`)
		b.WriteString(v)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}

// jsonMsg turns encoding/json errors into messages about the wire format.
func jsonMsg(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		f := te.Field
		if f == "" {
			return fmt.Sprintf("expected %s, got a JSON %s", te.Type, te.Value)
		}
		want := te.Type.String()
		switch {
		case strings.HasPrefix(f, "tags"):
			return `"tags" must be an object of string values`
		case want == "string":
			want = "a string"
		}
		return fmt.Sprintf("%q must be %s, not a JSON %s", f, want, te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, se.Error())
	}
	return "invalid JSON: " + err.Error()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
