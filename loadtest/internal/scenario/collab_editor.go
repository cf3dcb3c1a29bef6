package scenario

import (
	"github.com/warrenhq/warren/loadtest/internal/engine"
	"github.com/warrenhq/warren/loadtest/internal/payload"
)

func init() {
	// The collab-editor app: N typists per document send Yjs updates over the
	// y-websocket protocol; the server appends each to the document's SQLite
	// log and relays it to the document's other sockets (not the sender).
	// Latency is update relay latency, durable append included.
	Register(&Scenario{
		Name:    "collab-editor",
		Summary: "the collab-editor app (y-websocket protocol: Yjs text updates relayed through one object per document)",
		URL:     "ws://127.0.0.1:8789/parties/document/{room}?_pk={conn}",
		Payload: "relay", // replaced by the yjs codec below
		Self:    false,
		Configure: func(c *engine.Config) error {
			c.Codec = payload.Yjs{}
			return nil
		},
	})
}
