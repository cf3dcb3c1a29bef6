// Command chat is Warren's chat template: real-time rooms with persistent history,
// one object per room, wire-compatible with Cloudflare's durable-chat-template.
// See README.md.
package main

import "github.com/warrenhq/warren/runtime/server"

func main() {
	server.Main(server.App{Name: "chat", Addr: "127.0.0.1:8787", Assets: assets(), Setup: setup(Limits{})})
}
