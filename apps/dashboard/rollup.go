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

const schema = `
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

// agg is one bucket's aggregate: exact count, sum, min and max, and a DDSketch
// for quantiles. Aggregates merge exactly (the sketch mergeably).
type agg struct {
	count    int64
	sum      float64
	min, max float64
	sk       *ddsketch.DDSketch
}

func newAgg() *agg { return &agg{min: math.Inf(1), max: math.Inf(-1), sk: newSketch()} }

func (a *agg) add(v float64) {
	a.count++
	a.sum += v
	a.min = math.Min(a.min, v)
	a.max = math.Max(a.max, v)
	a.sk.Add(v) //nolint:errcheck // finite values only (checked at ingestion)
}

func (a *agg) merge(b *agg) error {
	if b.count == 0 {
		return nil
	}
	a.count += b.count
	a.sum += b.sum
	a.min = math.Min(a.min, b.min)
	a.max = math.Max(a.max, b.max)
	return a.sk.MergeWith(b.sk)
}

// mergeRow merges a stored row into a.
func (a *agg) mergeRow(count int64, sum, min, max float64, sketch []byte) error {
	if count == 0 {
		return nil
	}
	a.count += count
	a.sum += sum
	a.min = math.Min(a.min, min)
	a.max = math.Max(a.max, max)
	if err := a.sk.DecodeAndMergeWith(sketch); err != nil {
		return fmt.Errorf("decode sketch: %w", err)
	}
	return nil
}

func (a *agg) encode() []byte {
	var b []byte
	a.sk.Encode(&b, false)
	return b
}

// Point is one bucket as the API and viewers see it:
// [t (Unix s), count, sum, min, max, p50, p90, p99].
type Point [8]float64

func (a *agg) point(bucket int64) Point {
	p := Point{float64(bucket), float64(a.count), a.sum, a.min, a.max}
	if a.count == 0 {
		return p
	}
	qs, err := a.sk.GetValuesAtQuantiles(quantiles)
	if err == nil {
		for i, q := range qs {
			// The sketch is accurate to 1%; keep its answers within the exact bounds.
			p[5+i] = math.Max(a.min, math.Min(a.max, q))
		}
	}
	return p
}

// loadAgg reads one stored bucket (an empty agg when there is none).
func loadAgg(q *object.SQL, series, res, bucket int64) (*agg, error) {
	a := newAgg()
	var count int64
	var sum, min, max float64
	var sk []byte
	err := q.QueryRow(`SELECT count, sum, min, max, sketch FROM rollup WHERE series = ? AND res = ? AND bucket = ?`,
		series, res, bucket).Scan(&count, &sum, &min, &max, &sk)
	if errors.Is(err, sql.ErrNoRows) {
		return a, nil
	}
	if err != nil {
		return nil, err
	}
	return a, a.mergeRow(count, sum, min, max, sk)
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
func downsample(q *object.SQL, res, child int64) (int, error) {
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
		cr, err := q.Query(`SELECT count, sum, min, max, sketch FROM rollup WHERE series = ? AND res = ? AND bucket >= ? AND bucket < ?`,
			x.series, child, x.bucket, x.bucket+res)
		if err != nil {
			return 0, err
		}
		for cr.Next() {
			var count int64
			var sum, min, max float64
			var sk []byte
			if err := cr.Scan(&count, &sum, &min, &max, &sk); err != nil {
				return 0, err
			}
			if err := a.mergeRow(count, sum, min, max, sk); err != nil {
				return 0, err
			}
		}
		if err := cr.Err(); err != nil {
			return 0, err
		}
		cr.Close()
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

// queryRange returns the buckets of resolution res in [from, to) (Unix s) of the
// series named in keys (every series when keys is empty).
func queryRange(q *object.SQL, ids map[string]int64, keys []string, res, from, to int64) (map[string]*Series, error) {
	names := map[int64]string{}
	if len(keys) == 0 {
		for k, id := range ids {
			names[id] = k
		}
	} else {
		for _, k := range keys {
			if id, ok := ids[k]; ok {
				names[id] = k
			}
		}
	}
	out := map[string]*Series{}
	for id, key := range names {
		rows, err := q.Query(`SELECT bucket, count, sum, min, max, sketch FROM rollup WHERE series = ? AND res = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`,
			id, res, from, to)
		if err != nil {
			return nil, err
		}
		s := &Series{}
		for rows.Next() {
			var bucket, count int64
			var sum, min, max float64
			var sk []byte
			if err := rows.Scan(&bucket, &count, &sum, &min, &max, &sk); err != nil {
				return nil, err
			}
			a := newAgg()
			if err := a.mergeRow(count, sum, min, max, sk); err != nil {
				return nil, err
			}
			s.append(a.point(bucket))
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		rows.Close()
		out[key] = s
	}
	return out, nil
}
