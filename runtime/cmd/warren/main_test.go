package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warrenhq/warren/runtime/admin"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// Room is a tiny app object: a messages table.
type Room struct{ st *object.State }

func newRoom(ctx context.Context, st *object.State) (*Room, error) {
	_, err := st.SQL().Exec(`CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`)
	return &Room{st: st}, err
}

func (r *Room) Post(ctx context.Context, body string) (struct{}, error) {
	_, err := r.st.SQL().Exec(`INSERT INTO messages (body) VALUES (?)`, body)
	return struct{}{}, err
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// openApp runs the room app on dir and posts messages to rooms; the caller closes it.
func openApp(t *testing.T, dir string, rooms map[string]int) *server.Host {
	t.Helper()
	app := server.App{Name: "rooms", Runtime: object.Config{Logger: quiet}, Server: server.Config{Admin: admin.Config{Token: testToken}},
		Setup: func(rt *object.Runtime, s *server.Server) error {
			post := object.NewMethod("post", (*Room).Post)
			ns, err := object.Register(rt, "room", newRoom, object.Methods(post))
			if err != nil {
				return err
			}
			for name, n := range rooms {
				for i := range n {
					if _, err := post.Call(context.Background(), ns.GetByName(name), fmt.Sprintf("%s says %d", name, i)); err != nil {
						return err
					}
				}
			}
			return s.Mount(ns)
		}}
	h, err := server.Open(app, dir)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

const testToken = "test-token-0123456789abcdef"

func warren(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String() + errb.String(), err
}

func TestCommandsOnStoppedDataDir(t *testing.T) {
	dir := t.TempDir()
	openApp(t, dir, map[string]int{"lobby": 3, "kitchen": 2, "attic": 1}).Close()

	out, err := warren(t, "-data", dir, "ls")
	if err != nil || strings.TrimSpace(out) != "room" {
		t.Fatalf("ls: %q, %v", out, err)
	}
	out, err = warren(t, "-data", dir, "ls", "room", "-sort", "name")
	if err != nil || !strings.Contains(out, "attic") || strings.Index(out, "attic") > strings.Index(out, "kitchen") {
		t.Fatalf("ls room: %q, %v", out, err)
	}
	out, err = warren(t, "-data", dir, "ls", "-prefix", "kit", "room")
	if err != nil || !strings.Contains(out, "kitchen") || strings.Contains(out, "lobby") {
		t.Fatalf("ls -prefix: %q, %v", out, err)
	}
	out, err = warren(t, "-data", dir, "sql", "room", "lobby", "SELECT body FROM messages ORDER BY id")
	if err != nil || !strings.Contains(out, "lobby says 2") {
		t.Fatalf("sql: %q, %v", out, err)
	}
	// Read-only unless -write: SQLite refuses the write.
	if out, err = warren(t, "-data", dir, "sql", "room", "lobby", "DELETE FROM messages"); err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Fatalf("write without -write: %q, %v", out, err)
	}
	if out, err = warren(t, "-data", dir, "sql", "-write", "room", "lobby", "INSERT INTO messages (body) VALUES ('fixed by hand')"); err != nil || !strings.Contains(out, "1 rows written") {
		t.Fatalf("sql -write: %q, %v", out, err)
	}
	out, err = warren(t, "-data", dir, "-json", "inspect", "room", "lobby")
	if err != nil || !strings.Contains(out, `"name": "messages"`) || !strings.Contains(out, `"rows": 4`) {
		t.Fatalf("inspect: %q, %v", out, err)
	}
	exp := filepath.Join(t.TempDir(), "lobby.json")
	if _, err := warren(t, "-data", dir, "export", "-o", exp, "room", "lobby"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(exp); !bytes.Contains(b, []byte("fixed by hand")) {
		t.Fatalf("export: %s", b)
	}

	backup := filepath.Join(t.TempDir(), "b1")
	if out, err = warren(t, "-data", dir, "backup", backup); err != nil || !strings.Contains(out, "backed up 3 objects") {
		t.Fatalf("backup: %q, %v", out, err)
	}
	if out, err = warren(t, "-data", dir, "rm", "room", "attic"); err != nil {
		t.Fatalf("rm: %q, %v", out, err)
	}
	if out, _ = warren(t, "-data", dir, "ls", "room"); strings.Contains(out, "attic") {
		t.Fatalf("attic still listed after rm: %q", out)
	}
	fresh := filepath.Join(t.TempDir(), "new", "data")
	if out, err = warren(t, "-data", fresh, "restore", backup); err != nil || !strings.Contains(out, "restored 3 objects") {
		t.Fatalf("restore into a fresh dir: %q, %v", out, err)
	}
	out, err = warren(t, "-data", fresh, "sql", "room", "attic", "SELECT count(*) FROM messages")
	if err != nil || !strings.Contains(out, "1") {
		t.Fatalf("restored attic: %q, %v", out, err)
	}
	if _, err = warren(t, "-data", dir, "restore", "-ns", "room", "-object", "attic", backup); err != nil {
		t.Fatalf("restore one object: %v", err)
	}
}

func TestDataDirOfRunningAppIsRefused(t *testing.T) {
	dir := t.TempDir()
	h := openApp(t, dir, map[string]int{"lobby": 1})
	defer h.Close()
	_, err := warren(t, "-data", dir, "ls", "room")
	if err == nil || !strings.Contains(err.Error(), "in use by a running app") || !strings.Contains(err.Error(), "-url") {
		t.Fatalf("ls on a running app's directory: %v", err)
	}
}

func TestCommandsThroughAdminAPI(t *testing.T) {
	dir := t.TempDir()
	h := openApp(t, dir, map[string]int{"lobby": 2, "test-room": 1})
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	t.Setenv("WARREN_ADMIN_TOKEN", testToken)
	out, err := warren(t, "-url", srv.URL, "ls", "room")
	if err != nil || !strings.Contains(out, "lobby") || !strings.Contains(out, "test-room") {
		t.Fatalf("ls: %q, %v", out, err)
	}
	if out, err = warren(t, "-url", srv.URL, "sql", "room", "lobby", "UPDATE messages SET body = 'x'"); err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Fatalf("write without -write: %q, %v", out, err)
	}
	if out, err = warren(t, "-url", srv.URL, "backup", "nightly"); err != nil || !strings.Contains(out, "backed up 2 objects") {
		t.Fatalf("backup: %q, %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(dir+"-backups", "nightly", "manifest.json")); err != nil {
		t.Fatalf("backup not in the backup folder: %v", err)
	}
	if out, err = warren(t, "-url", srv.URL, "backup", "../escape"); err == nil {
		t.Fatalf("backup name with ..: %q", out)
	}
	if out, err = warren(t, "-url", srv.URL, "rm", "room", "test-room"); err != nil {
		t.Fatalf("rm: %q, %v", out, err)
	}
	if out, err = warren(t, "-url", srv.URL, "restore", "-ns", "room", "-object", "test-room", "nightly"); err != nil || !strings.Contains(out, "restored 1 objects") {
		t.Fatalf("restore: %q, %v", out, err)
	}
	var sq bytes.Buffer
	c := &admin.Client{BaseURL: srv.URL, Token: testToken}
	if err := c.Export(context.Background(), "room", "lobby", "sqlite", &sq); err != nil || !bytes.HasPrefix(sq.Bytes(), []byte("SQLite format 3")) {
		t.Fatalf("sqlite export: %v", err)
	}
	t.Setenv("WARREN_ADMIN_TOKEN", "wrong-token-0123456789")
	if _, err := warren(t, "-url", srv.URL, "ls", "room"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong token: %v", err)
	}
}
