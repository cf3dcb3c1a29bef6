package report

import (
	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/warrenhq/warren/loadtest/internal/hist"
)

// Merge combines the results of processes that ran disjoint parts (whole
// rooms) of one run. Counts add up; percentiles come from the merged raw
// histograms; timeline rates add up index by index while its latency
// columns take the worst process. Server figures are left to the caller.
func Merge(parts []*Result) *Result {
	if len(parts) == 0 {
		return nil
	}
	out := *parts[0]
	out.Raw, out.Server, out.Errors = nil, nil, map[string]int64{}
	out.Connections, out.Messages, out.Timeline = Connections{}, nil, nil
	out.Tester = Proc{}
	lat, conn, bcast := hist.New(), hist.New(), hist.New()
	var sendWindow float64
	for _, p := range parts {
		out.WallS = max(out.WallS, p.WallS)
		if out.Aborted == "" {
			out.Aborted = p.Aborted
		}
		c := &out.Connections
		c.Attempted += p.Connections.Attempted
		c.Established += p.Connections.Established
		c.Failed += p.Connections.Failed
		c.ClosedByServer += p.Connections.ClosedByServer
		c.OpenAtEnd += p.Connections.OpenAtEnd
		c.PerSecond += p.Connections.PerSecond
		c.SourceAddrs += p.Connections.SourceAddrs
		for k, v := range p.Errors {
			out.Errors[k] += v
		}
		if p.Raw != nil {
			lat.Merge(hdr.Import(p.Raw.Latency))
			conn.Merge(hdr.Import(p.Raw.ConnectTime))
			if p.Raw.Broadcast != nil {
				bcast.Merge(hdr.Import(p.Raw.Broadcast))
			}
		}
		if m := p.Messages; m != nil {
			if out.Messages == nil {
				out.Messages = &Messages{}
			}
			o := out.Messages
			o.Sent += m.Sent
			o.Expected += m.Expected
			o.Delivered += m.Delivered
			o.Lost += m.Lost
			o.Duplicates += m.Duplicates
			o.Reordered += m.Reordered
			o.Late += m.Late
			o.Secondary += m.Secondary
			o.Refused += m.Refused
			o.Unmatched += m.Unmatched
			o.Foreign += m.Foreign
			o.Misrouted += m.Misrouted
			o.SelfEchoes += m.SelfEchoes
			sendWindow = max(sendWindow, m.SendWindowS)
		}
		t := &out.Tester
		t.PIDs = append(t.PIDs, p.Tester.PIDs...)
		t.CPUSeconds += p.Tester.CPUSeconds
		t.CPUPercent += p.Tester.CPUPercent
		t.RSSStartBytes += p.Tester.RSSStartBytes
		t.RSSPeakBytes += p.Tester.RSSPeakBytes
		t.RSSEndBytes += p.Tester.RSSEndBytes
		for i, pt := range p.Timeline {
			if i >= len(out.Timeline) {
				out.Timeline = append(out.Timeline, Point{T: pt.T})
			}
			o := &out.Timeline[i]
			o.Conns += pt.Conns
			o.SentPerS += pt.SentPerS
			o.DeliveredPerS += pt.DeliveredPerS
			o.TesterCPU += pt.TesterCPU
			o.P50, o.P99, o.Max = max(o.P50, pt.P50), max(o.P99, pt.P99), max(o.Max, pt.Max)
			o.BroadcastP50, o.BroadcastP99 = max(o.BroadcastP50, pt.BroadcastP50), max(o.BroadcastP99, pt.BroadcastP99)
		}
	}
	out.Latency, out.ConnectTime = hist.Summarize(lat), hist.Summarize(conn)
	out.BroadcastLatency = nil
	if bcast.TotalCount() > 0 {
		b := hist.Summarize(bcast)
		out.BroadcastLatency = &b
	}
	if m := out.Messages; m != nil && sendWindow > 0 {
		m.SendWindowS = sendWindow
		m.SentPerS = float64(m.Sent) / sendWindow
		m.DeliveredPerS = float64(m.Delivered) / sendWindow
		if m.Delivered > 0 {
			out.Tester.CPUPerMsgUS = out.Tester.CPUSeconds * 1e6 / float64(m.Delivered)
		}
	}
	if n := out.Connections.OpenAtEnd; n > 0 && out.Mode == "idle" {
		out.Tester.RSSPerConnBytes = float64(out.Tester.RSSPeakBytes-out.Tester.RSSStartBytes) / float64(n)
	}
	return &out
}
