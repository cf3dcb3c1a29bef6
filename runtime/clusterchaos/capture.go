package clusterchaos

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The object logs: streams warren_log_<shard>, subjects warren.log.<shard>.<key>
// (runtime/cluster assets.go).
const (
	logStreamPrefix = "warren_log_"
	logSubjects     = "warren.log.>"
)

// Capture follows every object log from its first record on, one ordered consumer
// per log stream, so that records a snapshot's rollup later removes are seen too.
// An ordered consumer survives reconnects and stream leader changes (it resumes
// after the last record it delivered).
type Capture struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	streams []string
	ccs     []jetstream.ConsumeContext

	mu   sync.Mutex
	recs []LogRecord
	last map[string]uint64 // stream -> last sequence delivered
	bad  []string          // records that did not decode
}

// StartCapture connects to the cluster's NATS servers at urls and starts following
// every log stream.
func StartCapture(ctx context.Context, urls []string) (*Capture, error) {
	nc, err := nats.Connect(strings.Join(urls, ","), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond),
		// A paused server keeps the connection open: notice within about a second.
		nats.PingInterval(500*time.Millisecond), nats.MaxPingsOutstanding(2), nats.Name("clusterchaos capture"))
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c := &Capture{nc: nc, js: js, last: map[string]uint64{}}
	names := js.StreamNames(ctx, jetstream.WithStreamListSubject(logSubjects))
	for n := range names.Name() {
		if strings.HasPrefix(n, logStreamPrefix) {
			c.streams = append(c.streams, n)
		}
	}
	if err := names.Err(); err != nil || len(c.streams) == 0 {
		nc.Close()
		return nil, fmt.Errorf("clusterchaos: list the log streams: %v (%d found)", err, len(c.streams))
	}
	sort.Strings(c.streams)
	for _, name := range c.streams {
		st, err := js.Stream(ctx, name)
		if err != nil {
			c.Stop()
			return nil, err
		}
		cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
		if err != nil {
			c.Stop()
			return nil, err
		}
		cc, err := cons.Consume(func(m jetstream.Msg) { c.add(name, m) })
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.ccs = append(c.ccs, cc)
	}
	return c, nil
}

func (c *Capture) add(stream string, m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		return
	}
	key := m.Subject()[strings.LastIndexByte(m.Subject(), '.')+1:]
	rec, err := DecodeRecord(key, md.Sequence.Stream, md.Timestamp, m.Data())
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last[stream] = max(c.last[stream], md.Sequence.Stream)
	if err != nil {
		c.bad = append(c.bad, fmt.Sprintf("%s seq %d: %v", m.Subject(), md.Sequence.Stream, err))
		return
	}
	c.recs = append(c.recs, rec)
}

// CatchUp waits (until timeout) for every stream's last record to be delivered, and
// returns the streams still behind.
func (c *Capture) CatchUp(timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		var behind []string
		for _, name := range c.streams {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			st, err := c.js.Stream(ctx, name)
			var last uint64
			if err == nil {
				last = st.CachedInfo().State.LastSeq
			}
			cancel()
			c.mu.Lock()
			got := c.last[name]
			c.mu.Unlock()
			if err != nil || got < last {
				behind = append(behind, name)
			}
		}
		if len(behind) == 0 || time.Now().After(deadline) {
			return behind
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Records returns the records captured so far, and those that did not decode.
func (c *Capture) Records() (recs []LogRecord, bad []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]LogRecord(nil), c.recs...), append([]string(nil), c.bad...)
}

// TakenOver reports whether the log of key has an EPOCH record of a node other than
// node stored after since: another node claimed the object.
func (c *Capture) TakenOver(key, node string, since time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.recs {
		if r.Key == key && r.Kind == KindEpoch && r.Node != node && r.Time.After(since) {
			return true
		}
	}
	return false
}

// StreamLeader returns the name of the NATS server leading the log stream that
// holds the object key's log.
func (c *Capture) StreamLeader(ctx context.Context, key string) (string, error) {
	b, err := hex.DecodeString(key[:2])
	if err != nil || len(b) != 1 {
		return "", fmt.Errorf("clusterchaos: bad object key %q", key)
	}
	return c.Leader(ctx, fmt.Sprintf("%s%02d", logStreamPrefix, int(b[0])%len(c.streams)))
}

// Leader returns the name of the NATS server leading the stream name.
func (c *Capture) Leader(ctx context.Context, name string) (string, error) {
	st, err := c.js.Stream(ctx, name)
	if err != nil {
		return "", err
	}
	ci := st.CachedInfo().Cluster
	if ci == nil || ci.Leader == "" {
		return "", fmt.Errorf("clusterchaos: stream %s has no leader now", name)
	}
	return ci.Leader, nil
}

// Stop ends the capture and closes its connection.
func (c *Capture) Stop() {
	for _, cc := range c.ccs {
		cc.Stop()
	}
	c.nc.Close()
}

// Streams whose leaders a fault's log line names (Leaders): the nodes' lease bucket,
// the owners' bucket and the snapshot store (runtime/cluster assets.go).
var bucketStreams = []string{"KV_warren_nodes", "KV_warren_owners", "OBJ_warren_snap"}

// Leaders describes which server leads the buckets' streams and how many of the
// log streams each leads, for a fault's log line: "KV_warren_nodes=n1 ... logs n1:3 n2:3 n3:2".
func (c *Capture) Leaders(ctx context.Context) string {
	var b strings.Builder
	for _, st := range bucketStreams {
		l, err := c.Leader(ctx, st)
		if err != nil {
			l = "?"
		}
		fmt.Fprintf(&b, "%s=%s ", st, l)
	}
	logs := map[string]int{}
	for _, st := range c.streams {
		l, err := c.Leader(ctx, st)
		if err != nil {
			l = "?"
		}
		logs[l]++
	}
	names := make([]string, 0, len(logs))
	for n := range logs {
		names = append(names, n)
	}
	sort.Strings(names)
	b.WriteString("logs")
	for _, n := range names {
		fmt.Fprintf(&b, " %s:%d", n, logs[n])
	}
	return b.String()
}

// Reelected polls the buckets' streams from start until each has a leader other
// than gone (or until limit) and returns, per stream, how long after start that
// was: a stream gone led was leaderless (electing) that long. A stream another
// server led all along reads as about 0.
func (c *Capture) Reelected(gone string, start time.Time, limit time.Duration) string {
	var b strings.Builder
	for _, st := range bucketStreams {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			l, err := c.Leader(ctx, st)
			cancel()
			if err == nil && l != gone {
				fmt.Fprintf(&b, "%s=%s after %v ", st, l, time.Since(start).Round(100*time.Millisecond))
				break
			}
			if time.Since(start) > limit {
				fmt.Fprintf(&b, "%s=none within %v ", st, limit)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return strings.TrimSpace(b.String())
}

// Lag returns the log streams whose capture is behind the stream's last record
// now, with how many sequences behind ("warren_log_03:12"); "" when none is.
func (c *Capture) Lag(ctx context.Context) string {
	var b strings.Builder
	for _, name := range c.streams {
		st, err := c.js.Stream(ctx, name)
		if err != nil {
			fmt.Fprintf(&b, "%s:? ", name)
			continue
		}
		last := st.CachedInfo().State.LastSeq
		c.mu.Lock()
		got := c.last[name]
		c.mu.Unlock()
		if got < last {
			fmt.Fprintf(&b, "%s:%d ", name, last-got)
		}
	}
	return strings.TrimSpace(b.String())
}
