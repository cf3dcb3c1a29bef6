package main

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

func TestDecodeBatch(t *testing.T) {
	now := testNow
	ms := now.UnixMilli()
	tests := []struct {
		name    string
		body    string
		want    []Event
		wantErr []string // substrings of the problems, in order
	}{
		{"array", `[{"name":"a","value":1},{"name":"b","value":2.5,"ts":` + itoa(ms-1000) + `}]`,
			[]Event{{"a", ms, 1}, {"b", ms - 1000, 2.5}}, nil},
		{"json lines with blanks", "{\"name\":\"a\",\"value\":1}\n\n  {\"name\":\"a\",\"value\":-3}\r\n",
			[]Event{{"a", ms, 1}, {"a", ms, -3}}, nil},
		{"ts in seconds", `[{"name":"a","value":1,"ts":` + itoa(now.Unix()) + `}]`, []Event{{"a", ms, 1}}, nil},
		{"ts RFC 3339", `[{"name":"a","value":1,"ts":"2030-01-01T11:59:59.5Z"}]`, []Event{{"a", ms - 500, 1}}, nil},
		{"tags sorted and escaped", `[{"name":"lat","value":1,"tags":{"z":"1","a":"x\"y"}}]`,
			[]Event{{`lat{a="x\"y",z="1"}`, ms, 1}}, nil},
		{"empty", "  ", nil, []string{"empty batch"}},
		{"empty array", "[]", nil, []string{"no events"}},
		{"not json", "hello", nil, []string{"JSON array of events or JSON lines"}},
		{"broken array", `[{"name":"a","value":1}`, nil, []string{"not a valid JSON array"}},
		{"string value", "{\"name\":\"a\",\"value\":\"3\"}\n{\"name\":\"a\",\"value\":1}", nil, []string{`line 1: "value" must be a number`}},
		{"missing name and value", `[{"value":1},{"name":"a"}]`, nil, []string{`event 0: "name" is missing`, `event 1: "value" is missing`}},
		{"name type", `[{"name":5,"value":1}]`, nil, []string{`"name" must be a string`}},
		{"bad name", `[{"name":"a\u0000b","value":1}]`, nil, []string{`has the character`}},
		{"too old", `[{"name":"a","value":1,"ts":` + itoa(ms-11*60*1000) + `}]`, nil, []string{"in the past"}},
		{"future", `[{"name":"a","value":1,"ts":"2030-01-01T12:05:00Z"}]`, nil, []string{"in the future"}},
		{"bad ts", `[{"name":"a","value":1,"ts":"yesterday"}]`, nil, []string{"not RFC 3339"}},
		{"bad tag key", `[{"name":"a","value":1,"tags":{"1x":"y"}}]`, nil, []string{"tag key"}},
		{"tag not string", `[{"name":"a","value":1,"tags":{"x":1}}]`, nil, []string{`"tags" must be an object of string values`}},
		{"not an object", `[1]`, nil, []string{"an event is a JSON object"}},
		{"huge number", `[{"name":"a","value":1e999}]`, nil, []string{`"value" must be a number`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeBatch([]byte(tt.body), DecodeOptions{Now: now})
			if tt.wantErr != nil {
				var be *BatchError
				if !errors.As(err, &be) {
					t.Fatalf("err = %v, want a BatchError", err)
				}
				if len(be.Problems) != len(tt.wantErr) {
					t.Fatalf("problems %q, want %d", be.Problems, len(tt.wantErr))
				}
				for i, w := range tt.wantErr {
					if !strings.Contains(be.Problems[i], w) {
						t.Errorf("problem %d = %q, want it to contain %q", i, be.Problems[i], w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestDecodeBatchLimits(t *testing.T) {
	body := "[" + strings.Repeat(`{"name":"a","value":1},`, 10) + `{"name":"a","value":1}]`
	if _, err := DecodeBatch([]byte(body), DecodeOptions{Now: testNow, MaxEvents: 10}); err == nil || !strings.Contains(err.Error(), "at most 10") {
		t.Fatalf("11 events with MaxEvents 10: %v", err)
	}
	lines := strings.Repeat("{\"name\":\"a\",\"value\":1}\n", 11)
	if _, err := DecodeBatch([]byte(lines), DecodeOptions{Now: testNow, MaxEvents: 10}); err == nil || !strings.Contains(err.Error(), "more than 10") {
		t.Fatalf("11 lines with MaxEvents 10: %v", err)
	}
	bad := strings.Repeat("{\"name\":\"a\",\"value\":\"x\"}\n", 15)
	_, err := DecodeBatch([]byte(bad), DecodeOptions{Now: testNow})
	var be *BatchError
	if !errors.As(err, &be) || len(be.Problems) != 10 || be.More != 5 {
		t.Fatalf("15 bad lines: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func FuzzDecodeBatch(f *testing.F) {
	for _, s := range []string{
		`[{"name":"a","value":1}]`,
		"{\"name\":\"a\",\"value\":1,\"tags\":{\"k\":\"v\"}}\n{\"name\":\"b\",\"value\":2,\"ts\":\"2030-01-01T12:00:00Z\"}",
		`[{"name":"a","value":"x","ts":1893499200000}]`, `[`, `{}`, "\n\n", `[{"name":"` + strings.Repeat("x", 200) + `","value":0}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := DecodeBatch(body, DecodeOptions{Now: testNow, MaxEvents: 100})
		if err != nil {
			var be *BatchError
			if !errors.As(err, &be) || len(be.Problems) == 0 || len(be.Problems) > maxErrors {
				t.Fatalf("error %v is not a bounded BatchError", err)
			}
			if evs != nil {
				t.Fatal("events returned with an error")
			}
			return
		}
		if len(evs) == 0 || len(evs) > 100 {
			t.Fatalf("%d events", len(evs))
		}
		for _, e := range evs {
			if math.IsNaN(e.Value) || math.IsInf(e.Value, 0) || e.Series == "" {
				t.Fatalf("bad event %+v", e)
			}
			if ts := time.UnixMilli(e.TsMs); ts.Before(testNow.Add(-10*time.Minute)) || ts.After(testNow.Add(time.Minute)) {
				t.Fatalf("ts out of bounds: %+v", e)
			}
		}
	})
}

// TestFarFutureTimestamps (issue 14, finding 14): a ts beyond about 292 years from
// now overflowed the duration check (Now.Sub saturates) and was stored; 9999-12-31
// was accepted. Times are compared now.
func TestFarFutureTimestamps(t *testing.T) {
	for _, ts := range []string{`"9999-12-31T23:59:59Z"`, `"2400-01-01T00:00:00Z"`, `999999999999999`, `"0001-01-01T00:00:00Z"`, `"1700-01-01T00:00:00Z"`} {
		_, err := DecodeBatch([]byte(`[{"name":"a","value":1,"ts":`+ts+`}]`), DecodeOptions{Now: testNow})
		if err == nil || !strings.Contains(err.Error(), `"ts"`) {
			t.Errorf("ts %s: %v, want a ts problem", ts, err)
		}
	}
}

// FuzzTimestamp: whatever "ts" a client sends, an accepted event lies within
// [now - Late, now + Future] (issue 14, finding 14), and a refused one says why.
func FuzzTimestamp(f *testing.F) {
	for _, s := range []string{`"9999-12-31T23:59:59Z"`, `999999999999999`, `1e15`, `-1`, `"2026-01-02T15:04:05.999999999+14:00"`,
		itoa(testNow.UnixMilli()), itoa(testNow.Unix()), `null`, `"now"`, `1e11`, `99999999999`, `0`} {
		f.Add(s)
	}
	o := DecodeOptions{Now: testNow, MaxEvents: 10, Late: 10 * time.Minute, Future: time.Minute}
	f.Fuzz(func(t *testing.T, raw string) {
		w := wireEvent{Ts: json.RawMessage(raw), Name: new(string), Value: json.RawMessage("1")}
		*w.Name = "a"
		ev, err := checkEvent(&w, o)
		if err != nil {
			if !strings.Contains(err.Error(), `"ts"`) {
				t.Fatalf("ts %q refused without saying so: %v", raw, err)
			}
			return
		}
		if ts := time.UnixMilli(ev.TsMs); ts.Before(testNow.Add(-o.Late).Truncate(time.Millisecond)) || ts.After(testNow.Add(o.Future)) {
			t.Fatalf("ts %q accepted as %v, outside the window around %v", raw, ts, testNow)
		}
	})
}

// FuzzParseTime: a query bound is now, a relative or absolute time, or an error;
// relative ones are never after now (stream.go parseTime).
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"", "now", "-15m", "-1s", "--1s", "-9999999h", "1767225600000", "1767225600", "9999-12-31T23:59:59Z", "1e15", "NaN", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, err := parseTime(v, testNow, testNow)
		if err != nil {
			return
		}
		if strings.HasPrefix(v, "-") && got.After(testNow) {
			t.Fatalf("relative %q gave %v after now", v, got)
		}
		if _, err := json.Marshal(got.Unix()); err != nil {
			t.Fatal(err)
		}
	})
}
