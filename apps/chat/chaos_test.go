//go:build chaos

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/chaostest"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// TestChaos sends chat messages from several users into a few rooms while the server
// is killed with SIGKILL and restarted (make chaos); every message the server
// confirmed (its "add" broadcast came back to the sender) must be in the room's
// history exactly once.
func TestChaos(t *testing.T) {
	for _, k := range []string{"BURST", "RATE", "ADDR_BURST", "ADDR_RATE", "ROOM_BURST", "ROOM_RATE"} {
		t.Setenv("WARREN_CHAT_"+k, "1000000") // the workers send as fast as they can, from one address
	}
	bin := objecttest.BuildBinary(t, ".")
	chaostest.Run(t, chaostest.Config{Name: "chat", Binary: bin, Workers: 6}, chatChaos{})
}

const chaosRooms = 3

type chatChaos struct{}

func chaosRoom(i int) string { return fmt.Sprintf("chaos-%d", i%chaosRooms) }

func (chatChaos) dial(ctx context.Context, url, room, query string) (*websocket.Conn, error) {
	c, _, err := objecttest.DialParty(ctx, url, "chat", room, "proto=1&"+query)
	return c, err
}

func (cc chatChaos) Load(ctx context.Context, w *chaostest.Worker) error {
	conn, err := cc.dial(ctx, w.URL, chaosRoom(w.ID), fmt.Sprintf("token=chaos-user-token-%02d", w.ID))
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	const window = 8
	slots := make(chan struct{}, window)
	mine := fmt.Sprintf("r%d-w%d-", w.Run, w.ID)
	go func() {
		defer conn.Close()
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var f struct{ Type, ID string }
			if json.Unmarshal(b, &f) == nil && f.Type == TypeAdd && strings.HasPrefix(f.ID, mine) {
				w.Ack(f.ID)
				select {
				case <-slots:
				default:
				}
			}
		}
	}()
	for i := 0; i < 1_000_000 && ctx.Err() == nil; i++ {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Second):
			return nil // the server is gone
		}
		id := fmt.Sprintf("%s%d", mine, i)
		w.Sent(id)
		conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if err := conn.WriteJSON(map[string]any{"type": TypeAdd, "id": id, "content": "chaos " + id, "user": "chaos"}); err != nil {
			return err
		}
	}
	return nil
}

func (cc chatChaos) Check(ctx context.Context, in *chaostest.CheckInput) (chaostest.Result, error) {
	count := map[string]int{}
	var mu sync.Mutex
	for r := range chaosRooms {
		conn, err := cc.dial(ctx, in.URL, chaosRoom(r), "token=chaos-checker-token")
		if err != nil {
			return chaostest.Result{}, err
		}
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		err = readHistory(conn, func(m Message) {
			mu.Lock()
			count[m.ID]++
			mu.Unlock()
		}, func(d time.Duration) { time.Sleep(d) })
		stop()
		conn.Close()
		if err != nil {
			return chaostest.Result{}, fmt.Errorf("room %s: %w", chaosRoom(r), err)
		}
	}
	var res chaostest.Result
	for _, id := range in.Acked {
		if count[id] == 0 {
			res.Lost++
			res.Examples = append(res.Examples, "lost "+id)
		}
	}
	for id, n := range count {
		if n > 1 {
			res.Duplicated++
			res.Examples = append(res.Examples, fmt.Sprintf("%s ×%d", id, n))
		}
	}
	if len(res.Examples) > 10 {
		res.Examples = res.Examples[:10]
	}
	return res, nil
}
