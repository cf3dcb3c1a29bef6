package main

import (
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/DataDog/sketches-go/ddsketch"

	"github.com/warrenhq/warren/runtime/object"
)

// Resolutions of the rollups, in seconds.
const (
	Res1s = 1
	Res1m = 60
	Res1h = 3600
)

var resolutions = []int64{Res1s, Res1m, Res1h}

// Sketch parameters: 1% relative accuracy, at most 2,048 bins per sign (the lowest
// bins collapse beyond that), so a bucket's sketch stays a few KiB at most.
const (
	sketchAccuracy = 0.01
	sketchBins     = 2048
)

// Quantiles reported with every point.
var quantiles = []float64{0.5, 0.9, 0.99}

// streamMigrations are a stream's schema versions (object.Migrate): 1 creates the
// series, their rollups and the dirty buckets, IF NOT EXISTS because streams made
// before Migrate have them at version 0. Append new steps; never edit a shipped one.
var streamMigrations = []object.Migration{object.Statements(streamV1)}

const streamV1 = `
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

func newSketch() *ddsketch.DDSketch {
	s, err := ddsketch.LogCollapsingLowestDenseDDSketch(sketchAccuracy, sketchBins)
	if err != nil {
		panic(err) // constant parameters
	}
	return s
}

// finite makes x representable in JSON and SQLite: sums of finite values can
// overflow (two events of 1.7e308), so ±Inf saturates at ±math.MaxFloat64; NaN (only
// ever from rows stored before this bound) becomes 0.
func finite(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case x > math.MaxFloat64:
		return math.MaxFloat64
	case x < -math.MaxFloat64:
		return -math.MaxFloat64
	}
	return x
}

// agg is one bucket's aggregate: exact count, sum, min and max, and a DDSketch
// for quantiles. Aggregates merge exactly (the sketch mergeably), except that a sum
// saturates at ±math.MaxFloat64 instead of overflowing.
type agg struct {
	count    int64
	sum      float64
	min, max float64
	sk       *ddsketch.DDSketch
}

func newAgg() *agg { return &agg{min: math.Inf(1), max: math.Inf(-1), sk: newSketch()} }

func (a *agg) add(v float64) {
	a.count++
	a.sum = finite(a.sum + v)
	a.min = math.Min(a.min, v)
	a.max = math.Max(a.max, v)
	a.sk.Add(v) //nolint:errcheck // finite values only (checked at ingestion)
}

func (a *agg) merge(b *agg) error {
	if b.count == 0 {
		return nil
	}
	a.count += b.count
	a.sum = finite(a.sum + b.sum)
	a.min = math.Min(a.min, b.min)
	a.max = math.Max(a.max, b.max)
	return a.sk.MergeWith(b.sk)
}

func (a *agg) encode() []byte {
	var b []byte
	a.sk.Encode(&b, false)
	return b
}

// Point is one bucket as the API and viewers see it:
// [t (Unix s), count, sum, min, max, p50, p90, p99].
type Point [8]float64

// point is a's bucket for the wire: every value finite, so encoding never fails.
func (a *agg) point(bucket int64) Point {
	p := Point{float64(bucket), float64(a.count), finite(a.sum)}
	if a.count == 0 {
		return p
	}
	p[3], p[4] = finite(a.min), finite(a.max)
	qs, err := a.sk.GetValuesAtQuantiles(quantiles)
	if err == nil {
		for i, q := range qs {
			// The sketch is accurate to 1%; keep its answers within the exact bounds.
			p[5+i] = math.Max(p[3], math.Min(p[4], finite(q)))
		}
	}
	return p
}

// loadAgg reads one stored bucket (an empty agg when there is none). A stored
// bucket that cannot be read is reported to bad and replaced by what is merged
// into it next: one damaged bucket never stops ingestion.
func loadAgg(q *object.SQL, series, res, bucket int64, bad func(error)) (*agg, error) {
	var r bucketRow
	err := q.QueryRow(`SELECT bucket, count, sum, min, max, sketch FROM rollup WHERE series = ? AND res = ? AND bucket = ?`,
		series, res, bucket).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return newAgg(), nil
	}
	if err != nil {
		return nil, err
	}
	a, err := r.agg()
	if err != nil {
		bad(err)
		return newAgg(), nil
	}
	return a, nil
}

// bucketRow is one stored bucket as SQL returns it.
type bucketRow struct {
	bucket, count int64
	sum, min, max float64
	sketch        []byte
}

func (r *bucketRow) dest() []any {
	return []any{&r.bucket, &r.count, &r.sum, &r.min, &r.max, &r.sketch}
}

// agg is the row's aggregate. Values stored before sums were bounded (±Inf) are
// made finite; a sketch that does not decode is an error, for the caller to skip
// that bucket rather than fail the whole answer.
func (r *bucketRow) agg() (*agg, error) {
	a := newAgg()
	if r.count <= 0 {
		return a, nil
	}
	if err := a.sk.DecodeAndMergeWith(r.sketch); err != nil {
		return nil, fmt.Errorf("decode sketch: %w", err)
	}
	a.count, a.sum, a.min, a.max = r.count, finite(r.sum), finite(r.min), finite(r.max)
	return a, nil
}

func storeAgg(q *object.SQL, series, res, bucket int64, a *agg) error {
	_, err := q.Exec(`INSERT INTO rollup (series, res, bucket, count, sum, min, max, sketch) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (series, res, bucket) DO UPDATE SET count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max, sketch = excluded.sketch`,
		series, res, bucket, a.count, a.sum, a.min, a.max, a.encode())
	return err
}

// downsample recomputes every dirty bucket of resolution res from its children at
// the next finer resolution, and marks the parents of what it wrote dirty in turn.
// Recomputing from children is idempotent, so late events and repeated runs are safe.
// A child that cannot be read is reported to bad and left out.
func downsample(q *object.SQL, res, child int64, bad func(error)) (int, error) {
	rows, err := q.Query(`SELECT series, bucket FROM dirty WHERE res = ? ORDER BY series, bucket LIMIT 10000`, res)
	if err != nil {
		return 0, err
	}
	type sb struct{ series, bucket int64 }
	var todo []sb
	for rows.Next() {
		var x sb
		if err := rows.Scan(&x.series, &x.bucket); err != nil {
			return 0, err
		}
		todo = append(todo, x)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	rows.Close()
	for _, x := range todo {
		a := newAgg()
		_, err := readBuckets(q, x.series, child, x.bucket, x.bucket+res, -1, bad, func(_ int64, c *agg) error {
			return a.merge(c)
		})
		if err != nil {
			return 0, err
		}
		if a.count > 0 {
			if err := storeAgg(q, x.series, res, x.bucket, a); err != nil {
				return 0, err
			}
			if parent := nextRes(res); parent > 0 {
				if _, err := q.Exec(`INSERT OR IGNORE INTO dirty (res, series, bucket) VALUES (?, ?, ?)`, parent, x.series, floorDiv(x.bucket, parent)*parent); err != nil {
					return 0, err
				}
			}
		}
		if _, err := q.Exec(`DELETE FROM dirty WHERE res = ? AND series = ? AND bucket = ?`, res, x.series, x.bucket); err != nil {
			return 0, err
		}
	}
	return len(todo), nil
}

// readBuckets calls visit with each stored bucket of one series at resolution res
// in [from, to), in order, at most limit of them (limit < 0: all). It returns how
// many it read. A bucket that cannot be read is reported to bad and skipped: one
// damaged bucket never fails a query, a snapshot or a downsampling.
func readBuckets(q *object.SQL, series, res, from, to int64, limit int, bad func(error), visit func(bucket int64, a *agg) error) (int, error) {
	rows, err := q.Query(`SELECT bucket, count, sum, min, max, sketch FROM rollup WHERE series = ? AND res = ? AND bucket >= ? AND bucket < ? ORDER BY bucket LIMIT ?`,
		series, res, from, to, limit)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var r bucketRow
		if err := rows.Scan(r.dest()...); err != nil {
			return n, err
		}
		n++
		a, err := r.agg()
		if err != nil {
			bad(fmt.Errorf("series %d, bucket %d (res %d): %w", series, r.bucket, res, err))
			continue
		}
		if err := visit(r.bucket, a); err != nil {
			return n, err
		}
	}
	return n, rows.Err()
}

func nextRes(res int64) int64 {
	switch res {
	case Res1s:
		return Res1m
	case Res1m:
		return Res1h
	}
	return 0
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Series is one series' points over a range, in columns for charts: T[i] is the
// bucket start (Unix s) of Count[i], Sum[i], ...
type Series struct {
	T     []int64   `json:"t"`
	Count []int64   `json:"count"`
	Sum   []float64 `json:"sum"`
	Min   []float64 `json:"min"`
	Max   []float64 `json:"max"`
	P50   []float64 `json:"p50"`
	P90   []float64 `json:"p90"`
	P99   []float64 `json:"p99"`
}

func (s *Series) append(p Point) {
	s.T = append(s.T, int64(p[0]))
	s.Count = append(s.Count, int64(p[1]))
	s.Sum = append(s.Sum, p[2])
	s.Min = append(s.Min, p[3])
	s.Max = append(s.Max, p[4])
	s.P50 = append(s.P50, p[5])
	s.P90 = append(s.P90, p[6])
	s.P99 = append(s.P99, p[7])
}

// seriesRef is a series as the answers list it: its key and its row id.
type seriesRef struct {
	key string
	id  int64
}

// queryRange returns the buckets of resolution res in [from, to) (Unix s) of each
// series, reading at most limit buckets in all; more reports ok = false (and a
// partial answer). Unreadable buckets are reported to bad and skipped.
func queryRange(q *object.SQL, series []seriesRef, res, from, to int64, limit int, bad func(error)) (out map[string]*Series, ok bool, err error) {
	out = make(map[string]*Series, len(series))
	left := limit
	for _, sr := range series {
		s := &Series{}
		n, err := readBuckets(q, sr.id, res, from, to, left+1, bad, func(bucket int64, a *agg) error {
			s.append(a.point(bucket))
			return nil
		})
		if err != nil {
			return nil, false, err
		}
		if n > left {
			return out, false, nil
		}
		left -= n
		out[sr.key] = s
	}
	return out, true, nil
}
