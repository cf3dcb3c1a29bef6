package object

import (
	"fmt"
	"testing"
	"time"
)

// The catalogue's page cache stays bounded while objects open and close beside it.
// SQLite's cache_size alone did not bound it: a flush at its limit took pages of the
// pool the other connections' caches share, or fresh ones, and the catalogue kept
// about one page per few objects it had ever written (~100 bytes per object).
func TestCatalogCacheBounded(t *testing.T) {
	rt, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	c := rt.ops.catalog
	<-c.ready
	// Scaled down: a 128 KiB cache_size and a 256 KiB bound, for a catalogue of
	// ~800 KB.
	defer func(max, chunk int) { catalogCacheMax, catalogChunk = max, chunk }(catalogCacheMax, catalogChunk)
	catalogCacheMax, catalogChunk = 256<<10, 32
	if _, err := c.db.Exec("PRAGMA cache_size=-128"); err != nil {
		t.Fatal(err)
	}
	// Objects being activated and evicted: in-memory databases, each read once.
	var open []func()
	churn := func() {
		db, conn, _, err := rt.openInMemory(t.Context(), rt.template)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conn.QueryRowContext(t.Context(), "SELECT count(*) FROM _warren_kv").Scan(&n); err != nil {
			t.Fatal(err)
		}
		open = append(open, func() { conn.Close(); db.Close() })
		if len(open) > 64 {
			open[0]()
			open = open[1:]
		}
	}
	defer func() {
		for _, f := range open {
			f()
		}
	}()
	// The catalogue of 3,000 objects, whose files are then gone: each flush deletes
	// 250 rows, touching pages all over its four B-trees.
	const rows = 3000
	if _, err := c.db.Exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO objects (ns, id, name, size, active) SELECT 'counter', CAST(printf('%032d', i) AS BLOB), 'object-' || i, abs(random() % 100000), random() FROM n`, rows-1); err != nil {
		t.Fatal(err)
	}
	peak := 0
	for i := range rows {
		var id [32]byte
		copy(id[:], fmt.Sprintf("%032d", i))
		c.touch(wakeKey{"counter", id}, "", time.Now(), -1)
		if i%10 == 0 {
			churn()
		}
		if i%250 == 249 {
			if err := c.flush(); err != nil {
				t.Fatal(err)
			}
			conn, err := c.db.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			used, err := catalogCacheUsed(conn)
			conn.Close()
			if err != nil {
				t.Fatal(err)
			}
			peak = max(peak, used)
		}
	}
	var left int
	if err := c.db.QueryRow(`SELECT count(*) FROM objects`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d rows left (%v), want 0", left, err)
	}
	if peak > catalogCacheMax {
		t.Fatalf("the catalogue's page cache reached %d KiB after a flush; bound %d KiB", peak>>10, catalogCacheMax>>10)
	}
	t.Logf("catalogue's page cache after flushes: at most %d KiB (bound %d KiB)", peak>>10, catalogCacheMax>>10)
}
