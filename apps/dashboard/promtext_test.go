package main

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const promPage = `# HELP warren_turns_total Turns run.
# TYPE warren_turns_total counter
warren_turns_total 1027
# TYPE warren_objects_active gauge
warren_objects_active 3
# TYPE http_requests counter
http_requests_total{method="GET",path="/a\"b\\c"} 5 1700000000000
# TYPE lat histogram
lat_bucket{le="0.1"} 1
lat_bucket{le="+Inf"} 2
lat_sum 0.3
lat_count 2
go_gc_pause{quantile="0.5"} NaN
untyped_thing +Inf
no_type 1.5e3
this is { broken
bad{label=unquoted} 1
`

func TestParsePromText(t *testing.T) {
	got, skipped := ParsePromText([]byte(promPage), 100)
	want := []PromSample{
		{Name: "warren_turns_total", Type: "counter", Value: 1027},
		{Name: "warren_objects_active", Type: "gauge", Value: 3},
		{Name: "http_requests_total", Labels: map[string]string{"method": "GET", "path": `/a"b\c`}, Type: "counter", Value: 5},
		{Name: "lat_sum", Type: "counter", Value: 0.3},
		{Name: "lat_count", Type: "counter", Value: 2},
		{Name: "no_type", Type: "untyped", Value: 1500},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("samples (-want +got):\n%s", d)
	}
	if skipped != 4 { // NaN, +Inf, two malformed lines
		t.Errorf("skipped %d, want 4", skipped)
	}
	keys := []string{}
	for _, s := range got {
		k, err := promSeries(s)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	wantKeys := []string{"rate(warren_turns_total)", "warren_objects_active", `rate(http_requests_total{method="GET",path="/a\"b\\c"})`,
		"rate(lat_sum)", "rate(lat_count)", "no_type"}
	if d := cmp.Diff(wantKeys, keys); d != "" {
		t.Errorf("series keys (-want +got):\n%s", d)
	}
	if got, _ := ParsePromText([]byte(promPage), 2); len(got) != 2 {
		t.Errorf("max 2: got %d samples", len(got))
	}
}

func FuzzParsePromText(f *testing.F) {
	f.Add([]byte(promPage))
	f.Add([]byte("a{b=\"\\"))
	f.Add([]byte("# TYPE x counter\nx{a=\"1\",b=\"2\",} 3 4\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		samples, skipped := ParsePromText(b, 50)
		if len(samples) > 50 || skipped < 0 {
			t.Fatalf("%d samples, %d skipped", len(samples), skipped)
		}
		for _, s := range samples {
			if s.Name == "" || len(s.Name) > MaxNameLen || math.IsNaN(s.Value) || math.IsInf(s.Value, 0) || len(s.Labels) > MaxTags {
				t.Fatalf("bad sample %+v", s)
			}
			if s.Type == "bucket" {
				t.Fatalf("histogram bucket kept: %+v", s)
			}
			if err := validName(s.Name); err != nil {
				t.Fatalf("sample name %q: %v", s.Name, err)
			}
			promSeries(s) //nolint:errcheck // must not panic
		}
	})
}
