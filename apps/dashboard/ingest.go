package main

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/warrenhq/warren/runtime/object"
)

// eventsIngested counts accepted events process-wide (exported at /metrics).
var eventsIngested atomic.Int64

// ingest stores a decoded batch: each event goes into its series' 1 s bucket, and
// the 1 min buckets it touches are marked for downsampling. Viewers get the changed
// buckets with the next push.
func (s *Stream) ingest(evs []Event) error {
	type gk struct {
		series string
		bucket int64
	}
	groups := map[gk]*agg{}
	var order []gk
	newSeries := 0
	seen := map[string]bool{}
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	lastBySeries := map[string]int64{}
	for _, e := range evs {
		k := gk{e.Series, floorDiv(e.TsMs, 1000)}
		a := groups[k]
		if a == nil {
			a = newAgg()
			groups[k] = a
			order = append(order, k)
			if _, ok := s.ids[e.Series]; !ok && !seen[e.Series] {
				seen[e.Series] = true
				newSeries++
			}
		}
		a.add(e.Value)
		first = min(first, e.TsMs)
		last = max(last, e.TsMs)
		lastBySeries[e.Series] = max(lastBySeries[e.Series], e.TsMs)
	}
	if len(s.ids)+newSeries > s.cfg.MaxSeries {
		return &BatchError{Problems: []string{fmt.Sprintf("the batch would make %d series; a stream has at most %d (a series is a name plus its tags)",
			len(s.ids)+newSeries, s.cfg.MaxSeries)}}
	}
	q := s.st.SQL()
	for key, ts := range lastBySeries {
		id, ok := s.ids[key]
		if !ok {
			res, err := q.Exec(`INSERT INTO series (key, last_ms) VALUES (?, ?)`, key, ts)
			if err != nil {
				return err
			}
			s.ids[key] = res.LastInsertID
			continue
		}
		if _, err := q.Exec(`UPDATE series SET last_ms = max(last_ms, ?) WHERE id = ?`, ts, id); err != nil {
			return err
		}
	}
	marked := map[gk]bool{}
	for _, k := range order {
		id := s.ids[k.series]
		a, err := loadAgg(q, id, Res1s, k.bucket, s.skipped("ingest"))
		if err != nil {
			return err
		}
		if err := a.merge(groups[k]); err != nil {
			return err
		}
		if err := storeAgg(q, id, Res1s, k.bucket, a); err != nil {
			return err
		}
		m := gk{k.series, floorDiv(k.bucket, Res1m) * Res1m}
		if !marked[m] {
			marked[m] = true
			if _, err := q.Exec(`INSERT OR IGNORE INTO dirty (res, series, bucket) VALUES (?, ?, ?)`, Res1m, id, m.bucket); err != nil {
				return err
			}
		}
		pm := s.pending[k.series]
		if pm == nil {
			pm = map[int64]Point{}
			s.pending[k.series] = pm
		}
		pm[k.bucket] = a.point(k.bucket)
	}
	if s.pendFirst == 0 || first < s.pendFirst {
		s.pendFirst = first
	}
	s.pendLast = max(s.pendLast, last)
	if !s.downsampleQueued {
		if err := s.st.Schedule("downsample", object.After(s.cfg.DownsampleAfter), nil); err != nil {
			return err
		}
		s.downsampleQueued = true
	}
	n := int64(len(evs))
	s.st.OnCommit(func() { eventsIngested.Add(n) })
	s.schedulePush()
	return nil
}

func (s *Stream) decode(body []byte) ([]Event, error) {
	return DecodeBatch(body, DecodeOptions{Now: s.st.Now(), MaxEvents: s.cfg.MaxEvents, Late: s.cfg.Late, Future: s.cfg.Future})
}
