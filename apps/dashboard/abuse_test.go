package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// What one client could make a stream do (issue 14, findings 3, 6 and 9); each test
// failed before the bound it pins (findings 11 and 14: runtime/server's tests and
// TestFarFutureTimestamps).

// TestAbuseOverflowingSums (finding 6): two finite values of 1.7e308 sum to +Inf.
// Queries then answered 200 with 0 bytes and viewers were closed with 1011, for as
// long as the bucket was kept, also on the built-in warren board. Sums saturate at
// ±math.MaxFloat64 now; every answer encodes.
func TestAbuseOverflowingSums(t *testing.T) {
	base := startApp(t, Config{SelfEvery: 200 * time.Millisecond, DownsampleAfter: 100 * time.Millisecond})
	for _, stream := range []string{"huge", "warren"} {
		u := base + objecttest.PartyPath("stream", stream)
		for _, v := range []string{"1.7e308", "-1.7e308"} {
			name := "big"
			if v[0] == '-' {
				name = "small"
			}
			if code, body := post(t, u+"/events", fmt.Sprintf(`[{"name":%q,"value":%s},{"name":%q,"value":%s}]`, name, v, name, v)); code != http.StatusAccepted {
				t.Fatalf("%s: POST %s ×2: %d %v", stream, v, code, body)
			}
		}
		for _, res := range []string{"1s", "1m", "1h"} {
			deadline := time.Now().Add(10 * time.Second)
			for {
				var q queryAnswer
				if code := getJSON(t, u+"/query?from=-5m&res="+res, &q); code != 200 {
					t.Fatalf("%s: query res=%s: %d", stream, res, code)
				}
				if b, s := q.Series["big"], q.Series["small"]; b != nil && s != nil && len(b.Sum) > 0 && len(s.Sum) > 0 {
					if b.Sum[0] != math.MaxFloat64 || s.Sum[0] != -math.MaxFloat64 || b.Max[0] != 1.7e308 || s.Min[0] != -1.7e308 || b.Count[0] != 2 {
						t.Fatalf("%s res=%s: big %+v small %+v, want sums saturated at ±MaxFloat64", stream, res, b, s)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: no downsampled buckets at res=%s: %+v", stream, res, q.Series)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		v := dial(t, base, objecttest.PartyPath("stream", stream)+"?window=60")
		if f := read(t, v); f.Type != "snapshot" || f.Series["big"] == nil {
			t.Fatalf("%s: viewer got %+v, want a snapshot", stream, f)
		}
		// More of the same keeps the sum saturated; the viewer gets the delta.
		post(t, u+"/events", `[{"name":"big","value":1.7e308}]`)
		for {
			if f := read(t, v); f.Type == "delta" && f.Series["big"] != nil {
				break
			}
		}
	}
}

// TestAbuseUnreadableBuckets (finding 6): buckets stored before the bound (sums of
// ±Inf) and a sketch that does not decode never fail a query, a snapshot, an
// ingestion or a downsampling: the damaged bucket is made finite or skipped, the
// others answered. Before, each of them failed the whole answer, for as long as the
// bucket was kept.
func TestAbuseUnreadableBuckets(t *testing.T) {
	rt, ns := newTestStreams(t, Config{})
	now := rt.Clock.Now().Truncate(time.Minute).Add(30 * time.Second)
	rt.Clock.Set(now)
	sec := now.Unix()
	evs := []Event{}
	for i := range 4 {
		evs = append(evs, Event{Series: "s", TsMs: (sec - int64(i)) * 1000, Value: 1})
	}
	run(t, ns, "damaged", func(s *Stream) error { return s.ingest(evs) })
	run(t, ns, "damaged", func(s *Stream) error {
		q := s.st.SQL()
		for _, stmt := range []string{
			`UPDATE rollup SET sum = 1e999 WHERE res = 1 AND bucket = ?`,                // +Inf
			`UPDATE rollup SET sum = -1e999, min = -1e999 WHERE res = 1 AND bucket = ?`, // -Inf
			`UPDATE rollup SET sketch = x'ffff00' WHERE res = 1 AND bucket = ?`,         // does not decode
		} {
			sec--
			if _, err := q.Exec(stmt, sec); err != nil {
				return err
			}
		}
		return nil
	})
	var got *Series
	skipped := 0
	run(t, ns, "damaged", func(s *Stream) error {
		all, _, err := queryRange(s.st.SQL(), s.seriesRefs(nil), Res1s, now.Unix()-10, now.Unix()+1, MaxAnswerPoints, func(error) { skipped++ })
		got = all["s"]
		return err
	})
	if got == nil || len(got.T) != 3 || skipped != 1 {
		t.Fatalf("query: %+v (%d skipped), want the 3 readable buckets and 1 skipped", got, skipped)
	}
	for i := range got.T {
		for _, v := range []float64{got.Sum[i], got.Min[i], got.Max[i], got.P99[i]} {
			if math.IsInf(v, 0) || math.IsNaN(v) {
				t.Fatalf("bucket %d: %+v", got.T[i], got)
			}
		}
	}
	var snap Snapshot
	run(t, ns, "damaged", func(s *Stream) error {
		m, err := s.snapshot(60)
		if err == nil {
			err = json.Unmarshal(m.Data, &snap)
		}
		return err
	})
	if snap.Series["s"] == nil || len(snap.Series["s"].T) != 3 {
		t.Fatalf("snapshot: %+v", snap.Series["s"])
	}
	// An ingestion into the damaged buckets replaces them; downsampling proceeds.
	run(t, ns, "damaged", func(s *Stream) error { return s.ingest(evs) })
	run(t, ns, "damaged", func(s *Stream) error {
		_, err := downsample(s.st.SQL(), Res1m, Res1s, func(error) {})
		return err
	})
	if m := query(t, ns, "damaged", Res1m, now.Unix()-120, now.Unix()+60)["s"]; m == nil || len(m.T) == 0 {
		t.Fatalf("1 min buckets after downsampling: %+v", m)
	}
}

// fillRollups stores n series × secs seconds of 1 s buckets ending at now, and their
// 1 min rollups, straight in SQL (ingesting them would take minutes).
func fillRollups(t *testing.T, ns *object.Namespace[Stream], name string, now time.Time, n, secs int) {
	t.Helper()
	run(t, ns, name, func(s *Stream) error {
		a := newAgg()
		for v := range 10 {
			a.add(float64(v) + 0.123456789)
		}
		blob := a.encode()
		q := s.st.SQL()
		end := now.Unix()
		for i := range n {
			key := fmt.Sprintf("series_%04d", i)
			res, err := q.Exec(`INSERT INTO series (key, last_ms) VALUES (?, ?)`, key, now.UnixMilli()-int64(i))
			if err != nil {
				return err
			}
			s.ids[key] = res.LastInsertID
			for _, r := range []int64{Res1s, Res1m} {
				if _, err := q.Exec(`WITH RECURSIVE b(x) AS (SELECT ? UNION ALL SELECT x + ? FROM b WHERE x + ? < ?)
					INSERT INTO rollup (series, res, bucket, count, sum, min, max, sketch) SELECT ?, ?, x, 10, 46.2, 0.12, 9.12, ? FROM b`,
					floorDiv(end-int64(secs), r)*r, r, r, end+1, res.LastInsertID, r, blob); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func countPoints(series map[string]*Series) int {
	n := 0
	for _, s := range series {
		n += len(s.T)
	}
	return n
}

// TestAbuseLargeSnapshot (finding 3): ?window=3600 on a stream of 40 series with
// an hour of 1 s buckets. Before, the snapshot carried all 144,000 (about 16 MB,
// seconds to build) and every non-reading viewer held one. Now it reads and carries
// at most MaxAnswerPoints buckets: 1 min buckets from the rollups, the last minute
// or two at 1 s; a window that fits stays at 1 s; too many series are counted, not
// sent.
func TestAbuseLargeSnapshot(t *testing.T) {
	rt, ns := newTestStreams(t, Config{Keep1s: 2 * time.Hour})
	now := rt.Clock.Now().Truncate(time.Hour).Add(time.Hour + 30*time.Second)
	rt.Clock.Set(now)
	fillRollups(t, ns, "wide", now, 40, 3600)
	fillRollups(t, ns, "narrow", now, 2, 3600)
	fillRollups(t, ns, "many", now, 300, 120)
	for _, c := range []struct {
		stream          string
		window          int64
		res             int64
		series, omitted int
	}{
		{"wide", 3600, Res1m, 40, 0},
		{"wide", 300, Res1s, 40, 0},
		{"narrow", 3600, Res1s, 2, 0},
		{"many", 3600, Res1m, 132, 168}, // 59 minutes and 92 s at 1 s (now is 30 s into a minute) a series
	} {
		var snap Snapshot
		var size int
		run(t, ns, c.stream, func(s *Stream) error {
			start := time.Now()
			m, err := s.snapshot(c.window)
			if err != nil {
				return err
			}
			size = len(m.Data)
			t.Logf("%s window=%d: %d bytes in %v", c.stream, c.window, size, time.Since(start))
			return json.Unmarshal(m.Data, &snap)
		})
		if snap.Res != c.res || len(snap.Series) != c.series || snap.Omitted != c.omitted {
			t.Errorf("%s window=%d: res %d, %d series, %d omitted; want %d, %d, %d", c.stream, c.window, snap.Res, len(snap.Series), snap.Omitted, c.res, c.series, c.omitted)
		}
		if n := countPoints(snap.Series); n > MaxAnswerPoints || size > 3<<20 {
			t.Errorf("%s window=%d: %d buckets, %d bytes", c.stream, c.window, n, size)
		}
		for key, s := range snap.Series {
			for i, ts := range s.T {
				width := int64(1)
				if ts < snap.Cut {
					width = snap.Res
				}
				if ts%width != 0 || (i > 0 && ts <= s.T[i-1]) || ts < snap.From || ts > snap.To {
					t.Fatalf("%s window=%d: %s bucket %d out of place (res %d, cut %d)", c.stream, c.window, key, ts, snap.Res, snap.Cut)
				}
			}
		}
	}
	// Queries: an hour of every series at 1 s (144,000 buckets) is refused, auto
	// answers at 1 min.
	run(t, ns, "wide", func(s *Stream) error {
		rec := httptest.NewRecorder()
		s.serveQuery(rec, httptest.NewRequest("GET", "/parties/stream/wide/query?from=-1h&res=1s", nil))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "points in all") {
			t.Errorf("1 h of 40 series at 1 s: %d %.200s", rec.Code, rec.Body.String())
		}
		rec = httptest.NewRecorder()
		s.serveQuery(rec, httptest.NewRequest("GET", "/parties/stream/wide/query?from=-1h", nil))
		var q queryAnswer
		json.Unmarshal(rec.Body.Bytes(), &q)
		if rec.Code != 200 || q.Res != Res1m || countPoints(q.Series) > MaxAnswerPoints || rec.Body.Len() > 3<<20 {
			t.Errorf("auto: %d, res %d, %d buckets, %d bytes", rec.Code, q.Res, countPoints(q.Series), rec.Body.Len())
		}
		return nil
	})
}

// TestAbuseLargeDelta (finding 3): events can land in any second of the last 10
// minutes, so the changes between two pushes can be 600 buckets of each of 1,000
// series. A push carries at most MaxAnswerPoints buckets, the newest; the rest
// follow with the next pushes, nothing lost. (Here 12,000 pending buckets in parts
// of 5,000, to keep the test short.)
func TestAbuseLargeDelta(t *testing.T) {
	rt, ns := newTestStreams(t, Config{})
	now := rt.Clock.Now()
	total := 0
	run(t, ns, "late", func(s *Stream) error {
		for batch := range 3 { // in one turn: no push in between
			evs := make([]Event, 0, 4000)
			for i := range 4000 {
				evs = append(evs, Event{Series: fmt.Sprintf("s%02d", i%50), TsMs: now.UnixMilli() - int64(batch*4000+i)/50*1000, Value: 1})
			}
			if err := s.ingest(evs); err != nil {
				return err
			}
			total += 4000
		}
		seen := 0
		newest := int64(math.MaxInt64)
		for {
			part := s.takePending(5000)
			if part == nil {
				for _, pm := range s.pending {
					seen += len(pm)
				}
				break
			}
			n := 0
			for _, pm := range part {
				for b := range pm {
					if b > newest {
						t.Errorf("bucket %d after older ones", b)
					}
					n++
				}
			}
			for _, pm := range part {
				for b := range pm {
					newest = min(newest, b)
				}
			}
			if n != 5000 {
				t.Errorf("a part of %d buckets", n)
			}
			seen += n
		}
		if seen != total {
			t.Errorf("%d buckets pushed in all, want %d", seen, total)
		}
		return nil
	})
}

// TestAbusePollIsTheOperators (finding 9): anyone could point a stream's poll at
// any loopback port (a port scan, banners read back, ingested +Inf), even
// cross-site with a text/plain POST. Polls are set by the operator only
// (Config.Polls, DASHBOARD_POLL): the API takes GET alone, a cross-site POST is
// refused by the server, and a poll a client had set before is removed at
// activation and never fetched.
func TestAbusePollIsTheOperators(t *testing.T) {
	base := startApp(t, Config{SelfStream: "-"})
	u := base + "/parties/stream/ssrf/poll"
	for _, c := range []struct {
		method string
		hdr    map[string]string
		want   int
	}{
		{"PUT", nil, http.StatusMethodNotAllowed},
		{"POST", nil, http.StatusMethodNotAllowed},
		{"DELETE", nil, http.StatusMethodNotAllowed},
		{"POST", map[string]string{"Origin": "https://evil.example", "Content-Type": "text/plain"}, http.StatusForbidden},
		{"PUT", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
	} {
		req, _ := http.NewRequest(c.method, u, strings.NewReader(`{"url":"http://127.0.0.1:22/","every":"1s"}`))
		for k, v := range c.hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %v: %d %s, want %d", c.method, c.hdr, resp.StatusCode, b, c.want)
		}
	}
	var got struct{ Poll *PollConfig }
	if getJSON(t, u, &got); got.Poll != nil {
		t.Fatalf("poll set by a client: %+v", got.Poll)
	}
	// Only the documented method of every endpoint.
	for path, method := range map[string]string{"": "POST", "/events": "PUT", "/query": "POST", "/events?x": "GET"} {
		req, _ := http.NewRequest(method, base+"/parties/stream/ssrf"+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: %d (Allow %q), want 405 with Allow", method, path, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}

// TestAbuseLegacyPollRemoved (finding 9): a poll a client set before (stored with
// its schedule) is dropped when the stream activates and never fetched; one the
// operator configures is scheduled and fetched.
func TestAbuseLegacyPollRemoved(t *testing.T) {
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "# TYPE up gauge\nup 1\n")
	}))
	defer target.Close()
	rt := objecttest.New(t, object.Config{})
	cfg := Config{SelfStream: "-", PollClient: target.Client()}.withDefaults()
	ns, err := object.Register(rt.Runtime, "stream", func(ctx context.Context, st *object.State) (*Stream, error) {
		return newStream(ctx, st, &cfg, rt.Runtime)
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, ns, "old", func(s *Stream) error { // what PUT .../poll stored
		if err := object.PutJSON(s.st.Storage(), "poll", PollConfig{URL: target.URL, Every: "1s"}); err != nil {
			return err
		}
		return s.st.Schedule("poll", object.Every(time.Second), nil)
	})
	rt.EvictAll()
	run(t, ns, "old", func(s *Stream) error {
		if s.poll != nil {
			t.Errorf("poll kept: %+v", s.poll)
		}
		sc, err := s.st.Schedules()
		for _, x := range sc {
			if x.Name == "poll" {
				t.Error("poll schedule kept")
			}
		}
		return err
	})
	rt.Clock.Advance(5 * time.Second)
	rt.WaitIdle()
	if n := hits.Load(); n != 0 {
		t.Fatalf("a client-set poll was fetched %d times", n)
	}
	cfg.Polls = map[string]PollConfig{"old": {URL: target.URL, Every: "1s"}}
	rt.EvictAll()
	run(t, ns, "old", func(s *Stream) error { return nil })
	deadline := time.Now().Add(10 * time.Second)
	for hits.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the operator's poll was never fetched")
		}
		rt.Clock.Advance(time.Second)
		rt.WaitIdle()
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSnapshotCache: viewers connecting between two pushes share one snapshot
// build (finding 3: each connect cost a full read), and none misses a change: what
// was ingested after the cached build goes out with the next push, after which a
// new snapshot is built.
func TestSnapshotCache(t *testing.T) {
	rt, ns := newTestStreams(t, Config{})
	now := rt.Clock.Now()
	ev := func(v float64) []Event { return []Event{{Series: "c", TsMs: now.UnixMilli(), Value: v}} }
	var first, cached, after object.Message
	run(t, ns, "cache", func(s *Stream) error {
		if err := s.ingest(ev(1)); err != nil {
			return err
		}
		var err error
		if first, err = s.snapshot(300); err != nil {
			return err
		}
		if err := s.ingest(ev(2)); err != nil { // pending until the next push
			return err
		}
		if cached, err = s.snapshot(300); err != nil {
			return err
		}
		if len(s.pending["c"]) == 0 {
			t.Error("the change after the cached build is not pending for the next push")
		}
		s.flush()
		after, err = s.snapshot(300)
		return err
	})
	if string(cached.Data) != string(first.Data) {
		t.Error("a second viewer before the next push got a new build")
	}
	var snap Snapshot
	json.Unmarshal(after.Data, &snap)
	if c := snap.Series["c"]; c == nil || c.Count[len(c.Count)-1] != 2 {
		t.Errorf("snapshot after the push: %+v, want both events", snap.Series["c"])
	}
}

// TestAbuseGETsCreateNoStreams pins issue 14 finding 12 for the dashboard, which the
// runtime's fix (a request no handler accepts creates nothing) did not cover: a
// stream answers GETs, so 300 GETs of random stream names answered 200 and left 301
// database files (6.9 MB). Now a GET (info, query, poll) of a stream that does not
// exist answers 404 and creates nothing; POSTing events creates the stream, which
// GETs then read. Fails on the code before the fix (200, 30 files).
func TestAbuseGETsCreateNoStreams(t *testing.T) {
	dir := t.TempDir()
	base := startAppIn(t, Config{SelfStream: "-"}, dir)
	for i := range 10 {
		for _, rest := range []string{"", "/query", "/poll"} {
			resp, err := http.Get(fmt.Sprintf("%s/parties/stream/guess%d%s", base, i, rest))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("GET %s of a new stream: %d, want 404", rest, resp.StatusCode)
			}
		}
	}
	files := func() int {
		m, _ := filepath.Glob(filepath.Join(dir, "stream", "*", "*.sqlite"))
		return len(m)
	}
	if n := files(); n != 0 {
		t.Fatalf("%d stream files created by GETs, want 0", n)
	}
	if code, _ := post(t, base+"/parties/stream/sent/events", `[{"name":"x","value":1}]`); code != http.StatusAccepted {
		t.Fatalf("POST events: %d", code)
	}
	resp, err := http.Get(base + "/parties/stream/sent/query")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || files() != 1 {
		t.Errorf("GET query of a stream events created: %d, %d files; want 200, 1", resp.StatusCode, files())
	}
}
