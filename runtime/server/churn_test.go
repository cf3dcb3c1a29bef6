package server_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// TestOnCloseDeliveredUnderChurn pins issue 14 finding 16: across many rooms with few
// database slots, reopening an object's database failed with SQLITE_BUSY on PRAGMA
// journal_mode=WAL (its previous connection was still closing), so OnClose turns
// failed and leave notices were lost. Now an object's database is closed before it is
// opened again, and every OnClose is delivered: each room's count is back to 0. Fails
// on the code before the fix (counts left above 0; calls hung on eviction).
func TestOnCloseDeliveredUnderChurn(t *testing.T) {
	h := startLobby(t, object.Config{MaxOpen: 2})
	const rooms, clients, rounds = 12, 6, 8
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range rounds {
				room := fmt.Sprint("r", (c*rounds+i)%rooms)
				conn, _, err := websocket.DefaultDialer.Dial(objecttest.PartyURL("ws://"+h.addr, "lobby", room, ""), nil)
				if err != nil {
					t.Errorf("dial %s: %v", room, err)
					return
				}
				if got := roundTrip(t, conn, "echo"); got != "echo:echo" {
					t.Errorf("%s: %q", room, got)
				}
				conn.Close()
				if i%3 == 0 {
					h.rt.EvictIdle(0)
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, "every socket to be gone", func() bool { return h.rt.SocketStats().Open == 0 })
	h.rt.WaitIdle()
	for r := range rooms {
		name := fmt.Sprint("r", r)
		if got := h.rt.KV(t, "lobby", h.ns.GetByName(name).ID())["online"]; got != "0" {
			t.Errorf("room %s: online = %q after everyone left, want 0 (an OnClose was lost)", name, got)
		}
	}
}
