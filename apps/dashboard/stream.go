package main

import (
	"context"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// Stream is one analytics stream: rollups of its series in its own SQLite database,
// live pushes to its viewers, and optionally a poll of an HTTP endpoint.
type Stream struct {
	st   *object.State
	cfg  *Config
	rt   *object.Runtime
	name string
	ids  map[string]int64

	// Live push: buckets changed since the last push, coalesced.
	pending          map[string]map[int64]Point
	pendFirst        int64 // smallest event ts (ms) in pending
	pendLast         int64
	flushing         bool
	lastFlush        time.Time
	downsampleQueued bool

	errors     []IngestError
	snapshots  snapshotCache
	poll       *PollConfig
	polling    bool
	counters   map[string]counterSample // last poll's counters, for rates
	self       *object.Stats
	selfSock   object.SocketStats
	selfAt     time.Time
	selfEvents int64
}

type counterSample struct {
	v  float64
	at time.Time
}

func newStream(ctx context.Context, st *object.State, cfg *Config, rt *object.Runtime) (*Stream, error) {
	name, _ := st.ID().Name()
	s := &Stream{st: st, cfg: cfg, rt: rt, name: name, ids: map[string]int64{},
		pending: map[string]map[int64]Point{}, counters: map[string]counterSample{}}
	if err := object.Migrate(st, streamMigrations...); err != nil {
		return nil, err
	}
	rows, err := st.SQL().Query(`SELECT id, key FROM series`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			return nil, err
		}
		s.ids[key] = id
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if s.errors, _, err = object.GetJSON[[]IngestError](st.Storage(), "errors"); err != nil {
		return nil, err
	}
	scheds, err := st.Schedules()
	if err != nil {
		return nil, err
	}
	has := map[string]bool{}
	for _, sc := range scheds {
		has[sc.Name] = true
	}
	s.downsampleQueued = has["downsample"]
	if err := s.applyPoll(has["poll"]); err != nil {
		return nil, err
	}
	if !has["retention"] {
		if err := st.Schedule("retention", object.Every(cfg.RetentionEvery), nil); err != nil {
			return nil, err
		}
	}
	if s.name != "" && s.name == cfg.SelfStream && !has["self"] {
		if err := st.Schedule("self", object.Every(cfg.SelfEvery), nil); err != nil {
			return nil, err
		}
	}
	return s, nil
}
