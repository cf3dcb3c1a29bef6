package server

import (
	"testing"
	"time"
)

func TestParseRetention(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "off": 0, "0": 0, "7d": 7 * 24 * time.Hour, "36h": 36 * time.Hour, " 30d ": 30 * 24 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := parseRetention(in); err != nil || got != want {
			t.Errorf("parseRetention(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"7", "-1h", "1.5d", "d", "0d", "30s", "forever", "99999999d"} {
		if got, err := parseRetention(in); err == nil {
			t.Errorf("parseRetention(%q) = %v, want an error", in, got)
		}
	}
	if _, err := openHistory("7d", t.TempDir(), true, nil); err == nil {
		t.Error("-history in cluster mode: no error")
	}
}
