package main

import (
	"context"
	"math"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// OnSchedule runs the stream's schedules: downsampling after ingestion, retention,
// the self stream's runtime sampling and polls.
func (s *Stream) OnSchedule(ctx context.Context, f object.Firing) error {
	switch f.Name {
	case "downsample":
		s.downsampleQueued = false
		q := s.st.SQL()
		n1, err := downsample(q, Res1m, Res1s, s.skipped("downsample"))
		if err != nil {
			return err
		}
		n2, err := downsample(q, Res1h, Res1m, s.skipped("downsample"))
		if err != nil {
			return err
		}
		if n1 >= 10000 || n2 >= 10000 {
			s.downsampleQueued = true
			return s.st.Schedule("downsample", object.After(time.Second), nil)
		}
	case "retention":
		return s.expire()
	case "self":
		return s.sampleSelf()
	case "poll":
		s.startPoll()
	}
	return nil
}

// expire deletes the buckets older than their resolution's retention.
func (s *Stream) expire() error {
	now := s.st.Now().Unix()
	for _, r := range []struct {
		res  int64
		keep time.Duration
	}{{Res1s, s.cfg.Keep1s}, {Res1m, s.cfg.Keep1m}, {Res1h, s.cfg.Keep1h}} {
		if _, err := s.st.SQL().Exec(`DELETE FROM rollup WHERE res = ? AND bucket < ?`, r.res, now-int64(r.keep/time.Second)-r.res); err != nil {
			return err
		}
	}
	return nil
}

// sampleSelf records this process's runtime metrics into the stream.
func (s *Stream) sampleSelf() error {
	now := s.st.Now()
	st, ss := s.rt.Stats(), s.rt.SocketStats()
	ms := now.UnixMilli()
	evs := []Event{
		{Series: "objects", TsMs: ms, Value: float64(st.Objects)},
		{Series: "sockets", TsMs: ms, Value: float64(ss.Open)},
		{Series: "queue depth", TsMs: ms, Value: float64(st.QueueDepth)},
	}
	if s.self != nil {
		if dt := now.Sub(s.selfAt).Seconds(); dt > 0 {
			rate := func(a, b int64) float64 { return math.Max(0, float64(a-b)/dt) }
			evs = append(evs,
				Event{Series: "turns/s", TsMs: ms, Value: rate(st.Turns, s.self.Turns)},
				Event{Series: "commits/s", TsMs: ms, Value: rate(st.Commits, s.self.Commits)},
				Event{Series: "messages/s", TsMs: ms, Value: rate(ss.MessagesIn+ss.MessagesOut, s.selfSock.MessagesIn+s.selfSock.MessagesOut)},
				Event{Series: "events ingested/s", TsMs: ms, Value: rate(eventsIngested.Load(), s.selfEvents)},
			)
		}
	}
	s.self, s.selfSock, s.selfAt, s.selfEvents = &st, ss, now, eventsIngested.Load()
	return s.ingest(evs)
}
