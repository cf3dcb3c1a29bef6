package main

import (
	"context"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// streamSchemaBeforeMigrate is the schema streams were created with before they
// used object.Migrate (the constructor ran it on every activation, at user_version 0).
const streamSchemaBeforeMigrate = `
CREATE TABLE IF NOT EXISTS series (
	id INTEGER PRIMARY KEY,
	key TEXT NOT NULL UNIQUE,
	last_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rollup (
	series INTEGER NOT NULL,
	res INTEGER NOT NULL,
	bucket INTEGER NOT NULL,
	count INTEGER NOT NULL,
	sum REAL NOT NULL,
	min REAL NOT NULL,
	max REAL NOT NULL,
	sketch BLOB NOT NULL,
	PRIMARY KEY (series, res, bucket)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rollup_age ON rollup (res, bucket);
CREATE TABLE IF NOT EXISTS dirty (
	res INTEGER NOT NULL,
	series INTEGER NOT NULL,
	bucket INTEGER NOT NULL,
	PRIMARY KEY (res, series, bucket)
) WITHOUT ROWID;
`

// TestStreamOpensADatabaseMadeBeforeMigrate: a stream written by the schema code of
// before object.Migrate opens with its series, takes events into them, and is at
// version 1 afterwards.
func TestStreamOpensADatabaseMadeBeforeMigrate(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	old, err := object.Register(rt.Runtime, "stream", func(ctx context.Context, st *object.State) (*Stream, error) {
		_, err := st.SQL().Exec(streamSchemaBeforeMigrate + `INSERT OR IGNORE INTO series(id, key) VALUES (7, 'lat')`)
		return &Stream{st: st}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	stub := old.GetByName("s")
	if err := old.RunLocal(context.Background(), stub, func(context.Context, *Stream) error { return nil }); err != nil {
		t.Fatal(err)
	}
	rt = rt.Restart(t, object.Config{})
	cfg := Config{SelfStream: "-"}.withDefaults()
	ns, err := object.Register(rt.Runtime, "stream", func(ctx context.Context, st *object.State) (*Stream, error) {
		return newStream(ctx, st, &cfg, rt.Runtime)
	})
	if err != nil {
		t.Fatal(err)
	}
	t0 := rt.Clock.Now().Truncate(time.Hour)
	rt.Clock.Set(t0)
	run(t, ns, "s", func(s *Stream) error {
		if s.ids["lat"] != 7 {
			t.Errorf("series after the upgrade: %v, want lat as 7", s.ids)
		}
		return s.ingest([]Event{{Series: "lat", TsMs: t0.UnixMilli(), Value: 3}})
	})
	if lat := query(t, ns, "s", Res1s, t0.Unix(), t0.Unix()+60)["lat"]; lat == nil || len(lat.T) != 1 {
		t.Fatalf("lat after the upgrade: %+v", lat)
	}
	rt.EvictAll()
	var v int
	if err := rt.OpenDB(t, "stream", stub.ID()).QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v != len(streamMigrations) {
		t.Fatalf("user_version %d, %v; want %d", v, err, len(streamMigrations))
	}
}
