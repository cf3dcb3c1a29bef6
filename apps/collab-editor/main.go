// Command collab-editor is Warren's collaborative editor: Yjs documents, one
// object per document, speaking the y-websocket protocol, persisted in SQLite with
// compaction. See README.md.
package main

import (
	"github.com/warrenhq/warren/runtime/clustermode"
	"github.com/warrenhq/warren/runtime/server"
)

func main() { server.Main(clustermode.With(app(Policy{}))) }
