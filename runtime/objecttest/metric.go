package objecttest

import (
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Metric reads one unlabelled metric from the server's /metrics; false when the
// server does not export it. An unreachable server fails the test.
func (s *Server) Metric(name string) (float64, bool) {
	s.t.Helper()
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		s.t.Fatalf("objecttest: metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}
