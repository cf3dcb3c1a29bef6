package server

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/warrenhq/warren/runtime/history"
)

// historyDir is where a data directory's history lives (package history): inside it,
// so the runtime's lock on the directory covers it.
const historyDir = ".history"

// openHistory starts the point-in-time history that -history asks for on dataDir, or
// returns nil when it is off (""). Cluster mode refuses it: the object's fenced log
// would be its history there, and that is not built yet.
func openHistory(value, dataDir string, clustered bool, log *slog.Logger) (*history.History, error) {
	retention, err := parseRetention(value)
	if err != nil || retention == 0 {
		return nil, err
	}
	if clustered {
		return nil, fmt.Errorf("-history: point-in-time recovery is not available in cluster mode yet")
	}
	return history.New(history.Config{Dir: filepath.Join(dataDir, historyDir), Retention: retention, Logger: log})
}

// clusterRetention reads -history in cluster mode, where the objects' logs are their
// history: "" is the cluster's default (ClusterFlags.History 0: 7 days), "0" and
// "off" keep none (-1: a snapshot rolls the log up), else the retention.
func clusterRetention(s string) (time.Duration, error) {
	switch strings.TrimSpace(s) {
	case "":
		return 0, nil
	case "0", "off":
		return -1, nil
	}
	return parseRetention(s)
}

// parseRetention reads -history: a Go duration (36h) or a number of days (7d); "",
// "0" and "off" are off.
func parseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "0", "off":
		return 0, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 36500 {
			return 0, fmt.Errorf("-history %q: want a number of days (7d) or a duration (36h)", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d <= 0 {
			return 0, fmt.Errorf("-history %q: want a number of days (7d) or a duration (36h)", s)
		}
	}
	if d < time.Minute {
		return 0, fmt.Errorf("-history %q: a retention under a minute keeps nothing useful", s)
	}
	return d, nil
}
