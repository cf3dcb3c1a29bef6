package object

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkListObjects100k lists the first page (100 objects) of a namespace of
// 100,000 objects in each sort order and by a name prefix. No object file exists:
// the listing reads the catalogue only (opening a database would fail).
//
//	cd runtime && go test -run '^$' -bench ListObjects100k -benchtime 2s ./object
func BenchmarkListObjects100k(b *testing.B) {
	rt, err := New(Config{DataDir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	keys := newIDKeys("room")
	<-rt.ops.catalog.ready
	tx, err := rt.ops.catalog.db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	for i := range 100_000 {
		name := fmt.Sprintf("room-%06d", i)
		id := keys.fromName(name)
		if _, err := tx.Exec(`INSERT INTO objects (ns, id, name, size, active) VALUES ('room', ?, ?, ?, ?)`,
			id.raw[:], name, 20480+(i*7919)%100000, int64(i)*1e6); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct{ name, sort, prefix string }{
		{"ByName", SortByName, ""}, {"BySize", SortBySize, ""}, {"ByActivity", SortByActivity, ""}, {"Prefix", SortByName, "room-0421"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				page, err := rt.ListObjects(ctx, "room", ObjectListOptions{Sort: c.sort, Prefix: c.prefix, Limit: 100})
				if err != nil || len(page.Objects) != 100 {
					b.Fatalf("%d objects, %v", len(page.Objects), err)
				}
			}
		})
	}
}

// BenchmarkNoteCommit is what every committed batch pays for the catalogue and the
// per-object metrics (a map write each, under their locks), for 1,000 objects.
//
//	cd runtime && go test -run '^$' -bench NoteCommit ./object
func BenchmarkNoteCommit(b *testing.B) {
	rt, err := New(Config{DataDir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	ns, err := Register(rt, "room", func(ctx context.Context, st *State) (*struct{}, error) { return &struct{}{}, nil })
	if err != nil {
		b.Fatal(err)
	}
	ents := make([]*entity, 1000)
	for i := range ents {
		ents[i] = newEntity(rt, ns.core, ns.IDFromName(fmt.Sprint(i)))
	}
	batch, out := []*event{{message: true}}, []outcome{{}}
	i := 0
	for b.Loop() {
		rt.noteCommit(ents[i%len(ents)], batch, out, 1, time.Millisecond)
		i++
	}
}
