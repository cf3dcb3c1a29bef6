package scenario

import "github.com/warrenhq/warren/loadtest/internal/engine"

func init() {
	// Bots playing the multiplayer-globe game: every socket of a session (room)
	// is a player that steers at -rate inputs/s; each input's token comes back
	// in the next 20 Hz tick to every socket of the session. Latency is input →
	// tick received by each player. Tick cost and interval percentiles are the
	// server's own, at GET /api/stats.
	Register(&Scenario{
		Name:    "multiplayer-globe",
		Summary: "globe game bots: every socket steers; latency = input to the next tick on every socket of the session",
		URL:     "ws://127.0.0.1:8788/parties/globe/{room}?_pk={conn}&name=bot",
		Payload: "globe",
		Self:    true,
		Configure: func(c *engine.Config) error {
			if c.Senders <= 1 && c.Rooms > 0 {
				c.Senders = max(1, c.Conns/c.Rooms) // every bot steers
			}
			return nil
		},
	})
}
