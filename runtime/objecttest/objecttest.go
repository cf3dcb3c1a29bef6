// Package objecttest runs objects in-process for tests, in the style of
// net/http/httptest: a runtime on a temporary data directory, a fake clock, forced
// eviction, and read-only inspection of an object's database.
//
// It also runs a whole app under test on a free 127.0.0.1 port, in process
// ([ServeApp]) or as its binary ([BuildBinary], [ServeBinary]): the fixture the
// apps' unit, chaos and browser tests share. [PartyURL], [PartyPath] and
// [Server.DialParty] address an object of it at /parties/<ns>/<name>.
package objecttest

import (
	"database/sql"
	"io"
	"log/slog"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
)

// Runtime is an object.Runtime on a temporary data directory with a fake clock. It is
// closed when the test ends.
type Runtime struct {
	*object.Runtime
	Clock *Clock
	Dir   string
}

// New starts a Runtime. cfg may be zero; its DataDir and Clock are filled in when empty,
// and logs are discarded unless cfg.Logger is set.
func New(t testing.TB, cfg object.Config) *Runtime {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	clock, _ := cfg.Clock.(*Clock)
	if cfg.Clock == nil {
		clock = NewClock()
		cfg.Clock = clock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	rt, err := object.New(cfg)
	if err != nil {
		t.Fatalf("objecttest: %v", err)
	}
	t.Cleanup(func() { rt.Close() })
	return &Runtime{Runtime: rt, Clock: clock, Dir: cfg.DataDir}
}

// Restart closes the runtime and opens a new one on the same data directory, as a
// process restart would. Namespaces must be registered again on the result.
func (r *Runtime) Restart(t testing.TB, cfg object.Config) *Runtime {
	t.Helper()
	r.Close()
	cfg.DataDir = r.Dir
	if cfg.Clock == nil && r.Clock != nil {
		cfg.Clock = r.Clock
	}
	return New(t, cfg)
}

// EvictAll waits for running turns to finish, then evicts every object now, as if its
// idle timeout had passed. Objects kept in memory by pending State.Go work stay.
func (r *Runtime) EvictAll() int {
	r.WaitIdle()
	return r.EvictIdle(0)
}

// OpenDB opens an object's database read-only, for assertions on what it stored. It
// sees committed data only.
func (r *Runtime) OpenDB(t testing.TB, namespace string, id object.ID) *sql.DB {
	t.Helper()
	// busy_timeout: the runtime's catalogue scan may be reading the file, or recovering
	// its WAL after a crash, at the same moment.
	db, err := sql.Open("sqlite", "file:"+r.DatabasePath(namespace, id)+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatalf("objecttest: open %s/%s: %v", namespace, id, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// KV returns an object's committed key-value pairs, read from its database file.
func (r *Runtime) KV(t testing.TB, namespace string, id object.ID) map[string]string {
	t.Helper()
	rows, err := r.OpenDB(t, namespace, id).Query(`SELECT key, value FROM _warren_kv`)
	if err != nil {
		t.Fatalf("objecttest: read %s/%s: %v", namespace, id, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatalf("objecttest: read %s/%s: %v", namespace, id, err)
		}
		out[k] = string(v)
	}
	return out
}
