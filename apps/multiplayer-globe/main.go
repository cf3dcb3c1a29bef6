// Command multiplayer-globe is Warren's multiplayer-globe template: the
// multiplayer-globe-template's visitors-on-a-globe (room "default"), grown into a
// server-authoritative game with sharded sessions, a fixed-rate tick, collectibles
// and an all-time leaderboard in SQLite. See README.md.
package main

import (
	"os"
	"runtime/debug"
	"strconv"

	"github.com/warrenhq/warren/runtime/clustermode"
	"github.com/warrenhq/warren/runtime/server"
)

// gcPercent replaces Go's default GOGC of 100 unless GOGC is set. The live heap
// is small (under 10 MB with 20 full sessions) while ticks allocate steadily, so
// at 100 the collector ran about once a second, each time taking one of the
// machine's CPUs for tens of milliseconds, in the middle of broadcasts. At 400
// it runs about 4 times less often, for a few tens of MB more memory.
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	server.Main(clustermode.With(globeApp(optionsFromEnv())))
}

// optionsFromEnv reads the tick budget (see admission.go) from
// WARREN_GLOBE_MAX_PER_ADDR (game sockets per client address),
// WARREN_GLOBE_MAX_SESSIONS_PER_ADDR (sessions a client address plays in),
// WARREN_GLOBE_MAX_SOCKETS (game sockets in all) and WARREN_GLOBE_MAX_SESSIONS
// (sessions with players); unset or invalid means the default.
func optionsFromEnv() Options {
	n := func(k string) int { v, _ := strconv.Atoi(os.Getenv(k)); return v }
	return Options{MaxPerAddr: n("WARREN_GLOBE_MAX_PER_ADDR"), MaxSessionsPerAddr: n("WARREN_GLOBE_MAX_SESSIONS_PER_ADDR"),
		MaxSockets: n("WARREN_GLOBE_MAX_SOCKETS"), MaxSessions: n("WARREN_GLOBE_MAX_SESSIONS")}
}
