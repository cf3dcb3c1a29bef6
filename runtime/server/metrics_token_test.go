package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// getWith fetches url with an optional Authorization header.
func getWith(t *testing.T, url, auth string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// checkMetricsToken checks that /metrics at base requires "Bearer <token>".
func checkMetricsToken(t *testing.T, base, token string) {
	t.Helper()
	for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer wrong", "Bearer " + token + "x", "Bearer " + token[:len(token)-1],
		"Basic " + token, token, "Bearer  " + token} {
		code, hdr, body := getWith(t, base+"/metrics", auth)
		if code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", auth, code)
		}
		if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("Authorization %q: WWW-Authenticate %q", auth, hdr.Get("WWW-Authenticate"))
		}
		if strings.Contains(body, "warren_") {
			t.Errorf("Authorization %q: metrics leaked in a 401: %q", auth, body)
		}
	}
	for _, auth := range []string{"Bearer " + token, "bearer " + token} {
		if code, _, body := getWith(t, base+"/metrics", auth); code != 200 || !strings.Contains(body, "\nwarren_turns_total ") {
			t.Errorf("Authorization %q: %d %.80q, want 200 with the metrics", auth, code, body)
		}
	}
	if code, _, body := getWith(t, base+"/healthz", ""); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz without a token: %d %q", code, body)
	}
}

// TestMetricsToken: with Config.MetricsToken set, /metrics answers 401 without the
// right bearer token and the metrics with it; /healthz stays open.
func TestMetricsToken(t *testing.T) {
	h := start(t, server.Config{MetricsToken: "s3cret-metrics-token"}, object.Config{})
	checkMetricsToken(t, "http://"+h.addr, "s3cret-metrics-token")
}

// TestMetricsOpenByDefault: without a token, /metrics needs no header.
func TestMetricsOpenByDefault(t *testing.T) {
	h := start(t, server.Config{}, object.Config{})
	if code, _ := h.get("/metrics"); code != 200 {
		t.Fatalf("/metrics without a token configured: %d", code)
	}
}

// TestMetricsTokenFromEnv: Run reads WARREN_METRICS_TOKEN.
func TestMetricsTokenFromEnv(t *testing.T) {
	t.Setenv("WARREN_METRICS_TOKEN", "env-metrics-token")
	addr := runApp(t, server.App{Name: "metrics-token"})
	checkMetricsToken(t, "http://"+addr, "env-metrics-token")
}
