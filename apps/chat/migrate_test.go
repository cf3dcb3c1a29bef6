package main

import (
	"context"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// roomSchemaBeforeMigrate is the schema rooms were created with before they used
// object.Migrate (the constructor ran it on every activation, at user_version 0).
const roomSchemaBeforeMigrate = `
CREATE TABLE IF NOT EXISTS messages(
  seq     INTEGER PRIMARY KEY,
  id      TEXT NOT NULL UNIQUE,
  uid     TEXT NOT NULL,
  user    TEXT NOT NULL,
  role    TEXT NOT NULL,
  content TEXT NOT NULL,
  created INTEGER NOT NULL,
  edited  INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  rev     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_rev ON messages(rev);
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content, tokenize='unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS names(key TEXT PRIMARY KEY, uid TEXT NOT NULL);`

// TestRoomOpensADatabaseMadeBeforeMigrate: a room written by the schema code of
// before object.Migrate opens with its messages and reserved names, and is at
// version 1 afterwards.
func TestRoomOpensADatabaseMadeBeforeMigrate(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	touch := object.NewMethodNoArg("touch", func(*Room, context.Context) (bool, error) { return true, nil })
	old, err := object.Register(rt.Runtime, "chat", func(ctx context.Context, st *object.State) (*Room, error) {
		_, err := st.SQL().Exec(roomSchemaBeforeMigrate + `
			INSERT OR IGNORE INTO messages(seq, id, uid, user, role, content, created, rev)
				VALUES (1, 'm1', 'u-carol', 'carol', 'user', 'written before Migrate', 1000, 1);
			INSERT OR IGNORE INTO names(key, uid) VALUES ('carol', 'u-carol')`)
		return &Room{st: st}, err
	}, object.Methods(touch))
	if err != nil {
		t.Fatal(err)
	}
	stub := old.GetByName("lobby")
	if _, err := touch.Call(context.Background(), stub); err != nil {
		t.Fatal(err)
	}
	rt = rt.Restart(t, object.Config{})
	ts := &testServer{t: t, rt: rt}
	ts.start(unlimited)
	c := ts.dial("lobby", "dave", "proto=1&name=carol&token=dave-secret-token-000001")
	if f := c.next(TypeWelcome); f.Name == "carol" {
		t.Errorf("carol's reserved name was given to another identity: %+v", f)
	}
	all := c.next("all")
	if len(all.Messages) != 1 || all.Messages[0].Content != "written before Migrate" || all.Messages[0].User != "carol" {
		t.Fatalf("history after the upgrade: %+v", all.Messages)
	}
	rt.EvictAll()
	var v int
	if err := rt.OpenDB(t, "chat", stub.ID()).QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v != len(roomMigrations) {
		t.Fatalf("user_version %d, %v; want %d", v, err, len(roomMigrations))
	}
}
