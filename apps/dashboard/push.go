package main

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// schedulePush arranges one push of the pending changes, no sooner than 1/PushRate
// after the previous one, as a turn on the runtime's clock (State.After).
func (s *Stream) schedulePush() {
	if s.flushing {
		return
	}
	s.flushing = true
	wait := s.lastFlush.Add(time.Duration(float64(time.Second) / s.cfg.PushRate)).Sub(s.st.Now())
	s.st.After(max(wait, 0), func(context.Context) error { s.flush(); return nil })
}

// Delta is a live update: only the buckets that changed since the previous push,
// each with its full current value (a viewer replaces the bucket it has), at most
// MaxAnswerPoints of them: beyond, the newest go first and the rest with the next
// push.
type Delta struct {
	Type   string             `json:"type"` // "delta"
	Res    int64              `json:"res"`  // 1
	Series map[string]*Series `json:"series"`
	// First and Last are the smallest and largest event ts (Unix ms) among the
	// events this push covers: now - First is the push's worst ingest-to-screen delay.
	// (A push split in parts gives its buckets' bounds.)
	First int64 `json:"first"`
	Last  int64 `json:"last"`
	Sent  int64 `json:"sent"` // Unix ms
}

func (s *Stream) flush() {
	s.flushing = false
	s.lastFlush = s.st.Now()
	s.snapshots.clear() // a viewer that connects from now on must be sent what this push carries
	if len(s.pending) == 0 {
		return
	}
	d := Delta{Type: "delta", Res: Res1s, Series: make(map[string]*Series, len(s.pending)),
		First: s.pendFirst, Last: s.pendLast, Sent: time.Now().UnixMilli()}
	if part := s.takePending(MaxAnswerPoints); part != nil {
		d.First, d.Last = math.MaxInt64, math.MinInt64
		for key, pm := range part {
			for b := range pm {
				d.First, d.Last = min(d.First, b*1000), max(d.Last, b*1000+999)
			}
			d.Series[key] = seriesOf(pm)
		}
		s.schedulePush()
	} else {
		for key, pm := range s.pending {
			d.Series[key] = seriesOf(pm)
		}
		s.pending = map[string]map[int64]Point{}
		s.pendFirst, s.pendLast = 0, 0
	}
	s.broadcast(d)
}

// takePending removes the newest max pending buckets and returns them, or returns
// nil (removing nothing) when there are no more than max.
func (s *Stream) takePending(max int) map[string]map[int64]Point {
	type ref struct {
		key    string
		bucket int64
	}
	var all []ref
	for key, pm := range s.pending {
		for b := range pm {
			all = append(all, ref{key, b})
		}
	}
	if len(all) <= max {
		return nil
	}
	slices.SortFunc(all, func(a, b ref) int { return cmp.Compare(b.bucket, a.bucket) })
	part := map[string]map[int64]Point{}
	for _, r := range all[:max] {
		if part[r.key] == nil {
			part[r.key] = map[int64]Point{}
		}
		part[r.key][r.bucket] = s.pending[r.key][r.bucket]
		delete(s.pending[r.key], r.bucket)
		if len(s.pending[r.key]) == 0 {
			delete(s.pending, r.key)
		}
	}
	return part
}

// seriesOf puts buckets in time order.
func seriesOf(pm map[int64]Point) *Series {
	ser := &Series{}
	for _, b := range slices.Sorted(maps.Keys(pm)) {
		ser.append(pm[b])
	}
	return ser
}

func (s *Stream) broadcast(v any) {
	views := s.st.WebSockets("view")
	if len(views) == 0 {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		s.st.Logger().Error("dashboard: encode push", "err", err)
		return
	}
	m := object.TextMessage(string(b))
	for _, ws := range views {
		ws.Send(m) //nolint:errcheck // a closed socket is no error here
	}
}
