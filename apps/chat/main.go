// Command chat is Warren's chat template: real-time rooms with persistent history,
// one object per room, wire-compatible with Cloudflare's durable-chat-template.
// See README.md.
package main

import (
	"os"
	"strconv"

	"github.com/warrenhq/warren/runtime/clustermode"
	"github.com/warrenhq/warren/runtime/server"
)

func main() {
	server.Main(clustermode.With(chatApp(limitsFromEnv())))
}

// limitsFromEnv reads the rate limits (see Limits) from the environment:
// WARREN_CHAT_BURST and WARREN_CHAT_RATE (per user: messages at once, per second),
// WARREN_CHAT_ADDR_BURST and WARREN_CHAT_ADDR_RATE (per client address in a room),
// WARREN_CHAT_ROOM_BURST and WARREN_CHAT_ROOM_RATE (per room). Unset or invalid
// means the default.
func limitsFromEnv() Limits {
	burst := func(k string) int { n, _ := strconv.Atoi(os.Getenv(k)); return n }
	rate := func(k string) float64 { f, _ := strconv.ParseFloat(os.Getenv(k), 64); return f }
	return Limits{
		Burst: burst("WARREN_CHAT_BURST"), Rate: rate("WARREN_CHAT_RATE"),
		AddrBurst: burst("WARREN_CHAT_ADDR_BURST"), AddrRate: rate("WARREN_CHAT_ADDR_RATE"),
		RoomBurst: burst("WARREN_CHAT_ROOM_BURST"), RoomRate: rate("WARREN_CHAT_ROOM_RATE"),
	}
}
