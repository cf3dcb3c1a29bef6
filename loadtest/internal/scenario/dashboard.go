package scenario

import "github.com/warrenhq/warren/loadtest/internal/engine"

func init() {
	// The dashboard app: HTTP POST batches of events into streams while viewers
	// watch each stream over a WebSocket. Not a fan-out of the senders' frames,
	// so it has a runner of its own (dashboard_run.go).
	Register(&Scenario{
		Name: "dashboard",
		Summary: "the dashboard app: HTTP ingest of event batches (-size events each, default 1000) at -rate " +
			"batches/s per sender into -rooms streams, -conns viewers in all; ingest rate and ingest-to-screen latency",
		URL:     "ws://127.0.0.1:8790/parties/stream/{room}?_pk={conn}",
		Payload: "relay",
		Configure: func(c *engine.Config) error {
			if c.Size == 128 { // the engine's default frame size: use the dashboard's batch
				c.Size = 1000
			}
			return nil
		},
		Run: runDashboard,
	})
}
