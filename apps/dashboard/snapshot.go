package main

import (
	"encoding/json"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// Snapshot is what a viewer gets first: the current window, in at most
// MaxAnswerPoints buckets. Res is 1 when every series' window fits at 1 s; else it
// is 60: the buckets before Cut are the 1 min rollups, those from Cut on (the last
// one or two minutes, the part live deltas update) 1 s. When even that does not fit
// every series, the most recently active ones are sent and Omitted counts the others.
type Snapshot struct {
	Type     string             `json:"type"` // "snapshot"
	Stream   string             `json:"stream"`
	Res      int64              `json:"res"`
	From     int64              `json:"from"`
	To       int64              `json:"to"`
	Cut      int64              `json:"cut"`
	Series   map[string]*Series `json:"series"`
	Omitted  int                `json:"omitted"`
	Errors   []IngestError      `json:"errors"`
	Poll     *PollConfig        `json:"poll"`
	PushRate float64            `json:"pushRate"`
	Now      int64              `json:"now"`
}

// snapshotTail is how much of a snapshot, at least, stays at 1 s whatever its Res:
// the part live deltas update. (A late event older than that shows at the next
// snapshot or query.) A minute that ended before it has been downsampled already.
const snapshotTail = 60

// snapshotPlan is the shape of a snapshot: Res, From and Cut as in Snapshot, End
// the end of its range, and how many series it carries.
type snapshotPlan struct {
	res, from, cut, end int64
	series              int
}

// planSnapshot picks 1 s when every one of n series fits within MaxAnswerPoints
// (a bucket read and sent for every second of the window), else 1 min for what is
// older than the tail; failing that too, the cheaper of the two and as many series
// as fit.
func planSnapshot(now, window int64, n int) snapshotPlan {
	fine := snapshotPlan{res: Res1s, from: now - window, end: now + 2, series: n}
	fine.cut = fine.from
	coarse := snapshotPlan{res: Res1m, from: floorDiv(now-window, Res1m) * Res1m, end: now + 2, series: n}
	coarse.cut = max(coarse.from, floorDiv(now-snapshotTail, Res1m)*Res1m)
	best, cost := fine, fine.end-fine.from
	for _, p := range []snapshotPlan{fine, coarse} {
		c := (p.cut-p.from)/p.res + p.end - p.cut
		if int64(n)*c <= MaxAnswerPoints {
			return p
		}
		if c < cost {
			best, cost = p, c
		}
	}
	best.series = int(MaxAnswerPoints / cost)
	return best
}

// snapshot returns the encoded Snapshot of the last window seconds. Snapshots are
// cached until the next push (a viewer sent a cached one gets every change since
// with that push) or for a second at most: viewers connecting together cost one
// build.
func (s *Stream) snapshot(window int64) (object.Message, error) {
	now := s.st.Now()
	if m, ok := s.snapshots.get(window, now); ok {
		return m, nil
	}
	all, err := s.seriesByActivity()
	if err != nil {
		return object.Message{}, err
	}
	p := planSnapshot(now.Unix(), window, len(all))
	series, err := s.readSnapshot(p, all[:min(p.series, len(all))])
	if err != nil {
		return object.Message{}, err
	}
	b, err := json.Marshal(Snapshot{Type: "snapshot", Stream: s.name, Res: p.res, From: p.from, To: p.end - 1, Cut: p.cut,
		Series: series, Omitted: len(all) - len(series), Errors: s.errorsList(), Poll: s.poll, PushRate: s.cfg.PushRate, Now: now.UnixMilli()})
	if err != nil {
		return object.Message{}, err
	}
	m := object.TextMessage(string(b))
	s.snapshots.put(window, now, m)
	return m, nil
}

// seriesByActivity lists the stream's series, the most recently ingested first.
func (s *Stream) seriesByActivity() ([]seriesRef, error) {
	rows, err := s.st.SQL().Query(`SELECT id, key FROM series ORDER BY last_ms DESC, key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []seriesRef
	for rows.Next() {
		var r seriesRef
		if err := rows.Scan(&r.id, &r.key); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// readSnapshot reads the buckets of p for each series: [from, cut) from the 1 min
// rollups, [cut, end) from the 1 s ones.
func (s *Stream) readSnapshot(p snapshotPlan, series []seriesRef) (map[string]*Series, error) {
	q, bad := s.st.SQL(), s.skipped("snapshot")
	out := make(map[string]*Series, len(series))
	for _, sr := range series {
		ser := &Series{}
		add := func(bucket int64, a *agg) error { ser.append(a.point(bucket)); return nil }
		if p.cut > p.from {
			if _, err := readBuckets(q, sr.id, Res1m, p.from, p.cut, -1, bad, add); err != nil {
				return nil, err
			}
		}
		if _, err := readBuckets(q, sr.id, Res1s, p.cut, p.end, -1, bad, add); err != nil {
			return nil, err
		}
		out[sr.key] = ser
	}
	return out, nil
}

// snapshotCache keeps encoded snapshots by window until the next push (clear) or
// for a second, a few windows at most.
type snapshotCache map[int64]cachedSnapshot

type cachedSnapshot struct {
	at time.Time
	m  object.Message
}

const snapshotCacheSize = 4

func (c *snapshotCache) get(window int64, now time.Time) (object.Message, bool) {
	e, ok := (*c)[window]
	if !ok || now.Sub(e.at) > time.Second || now.Before(e.at) {
		return object.Message{}, false
	}
	return e.m, true
}

func (c *snapshotCache) put(window int64, now time.Time, m object.Message) {
	if *c == nil || len(*c) >= snapshotCacheSize {
		*c = snapshotCache{}
	}
	(*c)[window] = cachedSnapshot{now, m}
}

func (c *snapshotCache) clear() { *c = nil }
