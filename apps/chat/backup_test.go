package main

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/admin"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
	"github.com/warrenhq/warren/runtime/server"
)

// TestBackupDuringLoadRestoresEveryAcknowledgedMessage takes a backup through the
// admin API while writers post to several rooms (each message counts as acknowledged
// when its broadcast comes back, which the output gate sends only after the commit).
// No turn fails because of the backup; restored into a fresh data directory, every
// message acknowledged before the backup started is there; and a truncated copy of
// the backup is refused with a clear error, leaving the fresh directory untouched.
func TestBackupDuringLoadRestoresEveryAcknowledgedMessage(t *testing.T) {
	const token = "backup-test-token-0123456789"
	rt := objecttest.New(t, object.Config{})
	s := server.New(rt.Runtime, server.Config{Admin: admin.Config{Token: token, BackupDir: t.TempDir()}})
	if err := setup(unlimited)(rt.Runtime, s); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	ts := &testServer{t: t, rt: rt, srv: srv}

	const rooms, perRoom = 4, 2
	var mu sync.Mutex
	acked := map[string]string{} // message id -> room
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, rooms*perRoom)
	for r := range rooms {
		for w := range perRoom {
			c := ts.dial(fmt.Sprintf("load-%d", r), fmt.Sprintf("w%d-%d", r, w), "")
			c.next("all")
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 2000 && !stop.Load(); i++ {
					id := fmt.Sprintf("r%dw%dm%d", r, w, i)
					if err := c.conn.WriteJSON(add(id, "message "+id, "writer")); err != nil {
						errs <- err
						return
					}
					for { // this writer's own broadcast is its acknowledgment
						var f frame
						c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
						if err := c.conn.ReadJSON(&f); err != nil {
							errs <- fmt.Errorf("%s: %w", id, err)
							return
						}
						if f.Type == "error" {
							errs <- fmt.Errorf("%s: error frame %+v", id, f)
							return
						}
						if f.Type == "add" && f.ID == id {
							break
						}
					}
					mu.Lock()
					acked[id] = fmt.Sprintf("load-%d", r)
					mu.Unlock()
				}
			}()
		}
	}
	waitAcked := func(n int) {
		deadline := time.Now().Add(20 * time.Second)
		for {
			mu.Lock()
			got := len(acked)
			mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d messages acknowledged", got)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitAcked(200)
	mu.Lock()
	before := make(map[string]string, len(acked))
	for k, v := range acked {
		before[k] = v
	}
	mu.Unlock()
	failedBefore := rt.Stats().FailedTurns
	c := &admin.Client{BaseURL: srv.URL, Token: token}
	res, err := c.Backup(context.Background(), admin.BackupRequest{Name: "during-load"})
	if err != nil {
		t.Fatal(err)
	}
	waitAcked(len(before) + 50) // the writers went on during and after the backup
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := rt.Stats().FailedTurns - failedBefore; n != 0 {
		t.Fatalf("%d turns failed during the backup", n)
	}
	if len(res.Objects) != rooms {
		t.Fatalf("backup of %d objects, want %d: %+v", len(res.Objects), rooms, res)
	}

	// A truncated copy of the backup is refused, and the fresh directory stays empty.
	truncated := filepath.Join(t.TempDir(), "truncated")
	copyDir(t, res.Dir, truncated)
	victim := filepath.Join(truncated, res.Objects[0].File)
	b, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(victim, b[:len(b)-4096], 0o644)
	fresh := objecttest.New(t, object.Config{})
	if _, err := fresh.Restore(context.Background(), truncated, object.RestoreOptions{}); !errors.Is(err, object.ErrCorrupt) || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("restore of a truncated backup: %v, want ErrCorrupt saying truncated", err)
	}
	if list, err := fresh.ListObjects(context.Background(), "chat", object.ObjectListOptions{}); err != nil || len(list.Objects) != 0 {
		t.Fatalf("the refused restore left objects: %+v, %v", list, err)
	}

	// The whole backup restores into the fresh directory with every acknowledged message.
	restored, err := fresh.Restore(context.Background(), res.Dir, object.RestoreOptions{})
	if err != nil || len(restored) != rooms {
		t.Fatalf("restore: %d objects, %v", len(restored), err)
	}
	have := map[string]bool{}
	for r := range rooms {
		room := fmt.Sprintf("load-%d", r)
		id, _ := fresh.ParseObject("chat", room)
		q, err := fresh.Query(context.Background(), "chat", id, `SELECT id FROM messages`, object.QueryOptions{MaxRows: object.MaxQueryRows})
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range q.Rows {
			have[row[0].(string)] = true
		}
	}
	missing := 0
	for id := range before {
		if !have[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d messages acknowledged before the backup are missing from the restore", missing, len(before))
	}
	t.Logf("%d messages acknowledged before the backup, %d in it, %d acknowledged in all", len(before), len(have), len(acked))
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
