// Command dashboard is Warren's live analytics template: one object per stream,
// HTTP and WebSocket ingestion in batches, rollups in SQLite (1 s, 1 min, 1 h with
// count, sum, min, max and DDSketch percentiles), retention by schedules, live charts
// pushed to viewers at a bounded rate, polling of Prometheus endpoints, and out of
// the box a "warren" stream of the process's own runtime metrics. See README.md.
package main

import (
	"fmt"
	"os"

	"github.com/warrenhq/warren/runtime/clustermode"
	"github.com/warrenhq/warren/runtime/server"
)

func main() {
	cfg, err := configFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dashboard:", err)
		os.Exit(2)
	}
	server.Main(clustermode.With(dashboardApp(cfg)))
}
