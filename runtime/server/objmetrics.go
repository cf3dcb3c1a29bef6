package server

import (
	"fmt"
	"io"

	"github.com/warrenhq/warren/runtime/object"
)

// TopObjectMetrics is how many objects /metrics exports per-object series for: the
// busiest by turns (object.Runtime.TopObjects), so that the series stay bounded
// whatever the number of objects.
const TopObjectMetrics = 10

// writeObjectMetrics writes the per-object series, labeled with the namespace and
// the ID's first 16 hex digits, never the name: names can be user data (a chat
// room's), and /metrics may be open. The inspector shows the names behind its token.
func writeObjectMetrics(w io.Writer, top []object.ObjectMetrics) {
	series := []struct {
		name, help, typ string
		value           func(m object.ObjectMetrics) float64
	}{
		{"warren_object_turns_total", "Turns of the busiest objects.", "counter", func(m object.ObjectMetrics) float64 { return float64(m.Turns) }},
		{"warren_object_failed_turns_total", "Failed turns of the busiest objects.", "counter", func(m object.ObjectMetrics) float64 { return float64(m.FailedTurns) }},
		{"warren_object_commits_total", "Batches committed by the busiest objects.", "counter", func(m object.ObjectMetrics) float64 { return float64(m.Commits) }},
		{"warren_object_commit_seconds_total", "Time the busiest objects spent committing.", "counter", func(m object.ObjectMetrics) float64 { return m.CommitTime.Seconds() }},
		{"warren_object_messages_total", "WebSocket messages received by the busiest objects.", "counter", func(m object.ObjectMetrics) float64 { return float64(m.Messages) }},
		{"warren_object_messages_sent_total", "WebSocket messages sent by the busiest objects' committed turns (a broadcast counts one per socket).", "counter", func(m object.ObjectMetrics) float64 { return float64(m.Sent) }},
		{"warren_object_rows_read_total", "Rows the busiest objects' queries returned and KV entries they read.", "counter", func(m object.ObjectMetrics) float64 { return float64(m.RowsRead) }},
		{"warren_object_rows_written_total", "Rows the busiest objects inserted, updated or deleted (SQL, KV, alarms).", "counter", func(m object.ObjectMetrics) float64 { return float64(m.RowsWritten) }},
		{"warren_object_sockets", "WebSockets of the busiest objects.", "gauge", func(m object.ObjectMetrics) float64 { return float64(m.Sockets) }},
		{"warren_object_bytes", "Bytes of the busiest objects' databases (with their WAL).", "gauge", func(m object.ObjectMetrics) float64 { return float64(m.Bytes) }},
	}
	for _, s := range series {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", s.name, s.help, s.name, s.typ)
		for _, m := range top {
			fmt.Fprintf(w, "%s{namespace=%q,id=%q} %g\n", s.name, m.Namespace, m.ID[:16], s.value(m))
		}
	}
}
