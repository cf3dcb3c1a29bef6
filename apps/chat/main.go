// Command chat is Warren's chat template: real-time rooms with persistent history,
// one object per room, wire-compatible with Cloudflare's durable-chat-template.
// See README.md.
package main

import (
	"os"
	"strconv"

	"github.com/warrenhq/warren/runtime/server"
)

func main() {
	server.Main(chatApp(limitsFromEnv()))
}

// limitsFromEnv reads the per-user rate limit from WARREN_CHAT_BURST (messages at
// once) and WARREN_CHAT_RATE (messages per second); unset or invalid means the default.
func limitsFromEnv() Limits {
	burst, _ := strconv.Atoi(os.Getenv("WARREN_CHAT_BURST"))
	rate, _ := strconv.ParseFloat(os.Getenv("WARREN_CHAT_RATE"), 64)
	return Limits{Burst: burst, Rate: rate}
}
