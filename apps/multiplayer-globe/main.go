// Command multiplayer-globe is Warren's multiplayer-globe template: the
// multiplayer-globe-template's visitors-on-a-globe (room "default"), grown into a
// server-authoritative game with sharded sessions, a fixed-rate tick, collectibles
// and an all-time leaderboard in SQLite. See README.md.
package main

import "github.com/warrenhq/warren/runtime/server"

func main() { server.Main(globeApp(Options{})) }
