package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/warrenhq/warren/loadtest/internal/hist"
	"github.com/warrenhq/warren/loadtest/internal/netx"
	"github.com/warrenhq/warren/loadtest/internal/payload"
	"github.com/warrenhq/warren/loadtest/internal/procstat"
	"github.com/warrenhq/warren/loadtest/internal/report"
	"github.com/warrenhq/warren/loadtest/internal/track"
	"github.com/warrenhq/warren/loadtest/internal/wsclient"
)

type room struct {
	idx     int
	name    string
	senders []*sender
	mu      sync.Mutex
	conns   []*conn
}

type sender struct {
	id   int
	slot int // index in room.senders
	room *room
	c    *conn
	seq  atomic.Uint64 // next sequence number = messages sent
	// refused counts the messages the server refused and told this sender of
	// (payload.Refused): no receiver is due them.
	refused atomic.Int64
	dead    atomic.Bool
	buf  []byte
}

type conn struct {
	id       int
	room     *room
	selfSlot int // index of this socket's own sender in room.senders, or -1
	ws       *wsclient.Conn
	seqs     []track.Seq // owned by the reader goroutine

	delivered atomic.Int64
	unmatched atomic.Int64
	foreign   atomic.Int64
	misrouted atomic.Int64
	selfEcho  atomic.Int64
	dead      atomic.Bool
}

type run struct {
	cfg   Config
	runID uint32
	epoch time.Time
	ctx   context.Context
	pool  *netx.Pool
	host  string

	rooms   []*room
	senders []*sender
	connsMu sync.Mutex
	conns   []*conn
	readers sync.WaitGroup
	closing atomic.Bool

	lat     *hist.Recorder
	connLat *hist.Recorder
	// Broadcast latency (codecs implementing payload.Stamped): receive time −
	// the server's send stamp of every stamped frame, while senders send.
	bcast    *hist.Recorder
	stamping atomic.Bool
	epochNS  int64 // epoch as Unix nanoseconds: wall clock = epochNS + nowNS()
	errs     errCounter

	attempted   atomic.Int64
	established atomic.Int64
	failed      atomic.Int64
	serverClose atomic.Int64
	open        atomic.Int64
	sent        atomic.Int64

	// Snapshots.
	snapMu    sync.Mutex
	cum       *hdr.Histogram // every latency since the start
	step      *hdr.Histogram // latencies of the current ramp step
	connCum   *hdr.Histogram
	bcastCum  *hdr.Histogram
	timeline  []report.Point
	lastT     time.Time
	lastSent  int64
	lastDeliv int64
	lastSelf  procstat.Sample
	lastSrv   procstat.Sample
	srvOK     bool
	srvStart  procstat.Sample
	srvPeak   int64
	selfPeak  int64
	selfStart int64
}

func newRun(ctx context.Context, cfg Config) (*run, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.URL)
	if err := netx.CheckHost(u.Hostname(), cfg.AllowNonLoopback); err != nil {
		return nil, err
	}
	srcs, err := netx.ParseSources(cfg.Sources, cfg.AllowNonLoopback)
	if err != nil {
		return nil, err
	}
	if srcs == nil && cfg.Sources != "" || cfg.Sources == "" {
		srcs = autoSources(u.Hostname(), cfg)
	}
	r := &run{
		cfg:      cfg,
		runID:    rand.Uint32(),
		epoch:    time.Now(),
		ctx:      ctx,
		pool:     netx.NewPool(srcs),
		host:     u.Hostname(),
		lat:      hist.NewRecorder(4 * runtime.GOMAXPROCS(0)),
		connLat:  hist.NewRecorder(4 * runtime.GOMAXPROCS(0)),
		cum:      hist.New(),
		connCum:  hist.New(),
		bcast:    hist.NewRecorder(4 * runtime.GOMAXPROCS(0)),
		bcastCum: hist.New(),
	}
	r.epochNS = r.epoch.UnixNano()
	r.errs.m = map[string]int64{}
	if r.cfg.RoomPrefix == "" {
		r.cfg.RoomPrefix = fmt.Sprintf("lt-%08x-", r.runID)
	}
	return r, nil
}

// autoSources picks enough 127.0.0.x source addresses for the run when the
// target is an IPv4 loopback address; otherwise the kernel chooses.
func autoSources(host string, cfg Config) []netip.Addr {
	a, err := netip.ParseAddr(host)
	if host == "localhost" {
		a, err = netip.MustParseAddr("127.0.0.1"), nil
	}
	if err != nil || !a.Is4() || !a.IsLoopback() {
		return nil
	}
	n := cfg.Conns / 20000
	if cfg.Mode == Ramp && cfg.RampBy == "conns" {
		n = cfg.Conns * cfg.RampSteps / 20000
	}
	if cfg.Mode == Connect {
		n = 64 // churn leaves sockets in TIME_WAIT: spread them wide
	}
	return netx.Auto(n + 1)
}

func (r *run) nowNS() int64 { return int64(time.Since(r.epoch)) }

func (r *run) expand(rm *room, connID int) string {
	return strings.NewReplacer(
		"{room}", url.PathEscape(rm.name),
		"{conn}", url.QueryEscape(r.cfg.RoomPrefix+"c"+strconv.Itoa(connID)),
	).Replace(r.cfg.URL)
}

// layout creates rooms and the first n sockets' places; the first Senders
// sockets of each room send.
func (r *run) layout(sending bool) {
	for i := range r.cfg.Rooms {
		r.rooms = append(r.rooms, &room{idx: i, name: r.cfg.RoomPrefix + strconv.Itoa(i)})
	}
	if !sending {
		return
	}
	for _, rm := range r.rooms {
		for j := range r.cfg.Senders {
			s := &sender{id: len(r.senders), slot: j, room: rm}
			r.senders = append(r.senders, s)
			rm.senders = append(rm.senders, s)
		}
	}
}

// dial opens one socket of room rm and starts its reader. It returns nil
// when the dial failed (the failure is counted).
func (r *run) dial(ctx context.Context, rm *room, id int, selfSlot int) *conn {
	r.attempted.Add(1)
	dctx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
	defer cancel()
	t0 := time.Now()
	ws, err := wsclient.Dial(dctx, r.expand(rm, id), wsclient.Options{
		NetDialer:      r.pool.Dialer(r.cfg.AllowNonLoopback),
		ReadBufferSize: r.cfg.ReadBuffer,
		Header:         r.cfg.Header,
	})
	if err != nil {
		r.failed.Add(1)
		if ctx.Err() == nil {
			r.errs.add("connect", err)
		}
		return nil
	}
	r.connLat.Record(id, time.Since(t0))
	ws.SetWriteTimeout(r.cfg.WriteTimeout)
	r.established.Add(1)
	r.open.Add(1)
	c := &conn{id: id, room: rm, selfSlot: selfSlot, ws: ws, seqs: make([]track.Seq, len(rm.senders))}
	for i, s := range rm.senders {
		c.seqs[i].Start(s.seq.Load())
	}
	rm.mu.Lock()
	rm.conns = append(rm.conns, c)
	rm.mu.Unlock()
	r.connsMu.Lock()
	r.conns = append(r.conns, c)
	r.connsMu.Unlock()
	r.readers.Add(1)
	go r.read(c)
	return c
}

// read is the receive path: one goroutine per socket, no allocation per
// message.
func (r *run) read(c *conn) {
	defer r.readers.Done()
	codec := r.cfg.Codec
	for {
		_, p, err := c.ws.ReadMessage()
		if err != nil {
			if !r.closing.Load() {
				c.dead.Store(true)
				r.open.Add(-1)
				r.serverClose.Add(1)
				r.errs.add("read", err)
			}
			c.ws.Close()
			return
		}
		r.handle(c, codec, p, r.nowNS())
	}
}

// handle accounts for one received message p that arrived at now.
func (r *run) handle(c *conn, codec payload.Codec, p []byte, now int64) {
	if sc, ok := codec.(payload.Stamped); ok && r.stamping.Load() {
		if at, ok := sc.Stamp(p); ok {
			r.bcast.Record(c.id, time.Duration(r.epochNS+now-at*1000))
		}
	}
	if mc, ok := codec.(payload.Multi); ok {
		r.handleMulti(c, mc, p, now)
		return
	}
	m, kind, ok := codec.Decode(p)
	if !ok {
		c.unmatched.Add(1)
		return
	}
	r.account(c, m, kind, now)
}

// account counts one token received on c: foreign (another run or an unknown
// sender), misrouted (another room), an echo of c's own message when those are not
// expected, or a delivery (new or reordered; duplicates are counted by the tracker).
func (r *run) account(c *conn, m payload.Meta, kind payload.Kind, now int64) {
	if m.Run != r.runID || int(m.Sender) >= len(r.senders) {
		c.foreign.Add(1)
		return
	}
	s := r.senders[m.Sender]
	if s.room != c.room {
		c.misrouted.Add(1)
		return
	}
	if kind == payload.Refused {
		if s.slot == c.selfSlot {
			s.refused.Add(1)
		} else {
			c.misrouted.Add(1) // a refusal goes to its sender alone
		}
		return
	}
	if s.slot == c.selfSlot && !r.cfg.Self {
		c.selfEcho.Add(1)
		return
	}
	switch c.seqs[s.slot].Observe(m.Seq, kind == payload.Secondary) {
	case track.New, track.Reordered:
		c.delivered.Add(1)
		r.lat.Record(c.id, time.Duration(now-m.SentNS))
	}
}

// connectAll opens n sockets numbered from first, spread round robin over
// the rooms, within the connect rate and concurrency.
func (r *run) connectAll(ctx context.Context, first, n int) time.Duration {
	start := time.Now()
	sem := make(chan struct{}, r.cfg.ConnectConcurrency)
	var wg sync.WaitGroup
	var tick *time.Ticker
	if r.cfg.ConnectRate > 0 {
		tick = time.NewTicker(time.Duration(float64(time.Second) / r.cfg.ConnectRate))
		defer tick.Stop()
	}
	for i := first; i < first+n; i++ {
		if tick != nil {
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
		select {
		case <-ctx.Done():
		case sem <- struct{}{}:
		}
		if ctx.Err() != nil {
			break
		}
		rm := r.rooms[i%len(r.rooms)]
		slot := -1
		var s *sender
		if k := i / len(r.rooms); k < len(rm.senders) && i < len(r.rooms)*len(rm.senders) {
			slot, s = k, rm.senders[k]
		}
		wg.Go(func() {
			defer func() { <-sem }()
			c := r.dial(ctx, rm, i, slot)
			if s != nil {
				if c == nil {
					s.dead.Store(true)
				} else {
					s.c = c
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// sendPhase runs every live sender at rate for d (or until each sent max
// messages, when max > 0) and returns the time it took.
func (r *run) sendPhase(ctx context.Context, rate float64, d time.Duration, max uint64) time.Duration {
	start := time.Now()
	until := start.Add(d)
	interval := time.Duration(float64(time.Second) / rate)
	r.stamping.Store(true) // broadcast latency is measured while senders send
	defer r.stamping.Store(false)
	var wg sync.WaitGroup
	for _, s := range r.senders {
		if s.c == nil || s.dead.Load() {
			continue
		}
		wg.Go(func() { r.sendLoop(ctx, s, start.Add(rand.N(interval+1)), interval, until, max) })
	}
	wg.Wait()
	return time.Since(start)
}

func (r *run) sendLoop(ctx context.Context, s *sender, t0 time.Time, interval time.Duration, until time.Time, max uint64) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	codec, size := r.cfg.Codec, r.cfg.Size
	binary := payload.IsBinary(codec)
	for k := 0; ; k++ {
		due := t0.Add(time.Duration(k) * interval)
		q := s.seq.Load()
		if !due.Before(until) || (max > 0 && q >= max) || s.c.dead.Load() {
			return
		}
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		s.buf = codec.Append(s.buf[:0], payload.Meta{Run: r.runID, Sender: uint32(s.id), Seq: q, SentNS: r.nowNS()}, size)
		write := s.c.ws.WriteText
		if binary {
			write = s.c.ws.WriteBinary
		}
		if err := write(s.buf); err != nil {
			if !r.closing.Load() {
				r.errs.add("write", err)
			}
			s.dead.Store(true)
			return
		}
		s.seq.Store(q + 1)
		r.sent.Add(1)
	}
}

// expected returns the deliveries due so far: for every socket, the
// messages its room's senders sent since it joined (its own excluded unless
// Self), and how many of them were delivered, for the sockets still open
// (live) or for all.
func (r *run) expected(liveOnly bool) (exp, got int64) {
	r.connsMu.Lock()
	defer r.connsMu.Unlock()
	for _, c := range r.conns {
		if liveOnly && c.dead.Load() {
			continue
		}
		for i, s := range c.room.senders {
			if i == c.selfSlot && !r.cfg.Self {
				continue
			}
			exp += max(int64(s.seq.Load()-c.seqs[i].Base())-s.refused.Load(), 0)
		}
		got += c.delivered.Load()
	}
	return exp, got
}

// drain waits until every live socket got what it is due, or the drain
// time passes.
func (r *run) drain(ctx context.Context) {
	deadline := time.Now().Add(r.cfg.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if exp, got := r.expected(true); got >= exp {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// closeAll closes every socket and waits (boundedly) for the readers.
func (r *run) closeAll() {
	r.closing.Store(true)
	r.connsMu.Lock()
	for _, c := range r.conns {
		c.ws.Close()
	}
	r.connsMu.Unlock()
	done := make(chan struct{})
	go func() { r.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		r.errs.addKind("internal:readers_did_not_stop")
	}
}

// sampleLoop appends a timeline point every interval until ctx ends.
func (r *run) sampleLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.snapshot()
		}
	}
}

// startSampling takes the baseline samples.
func (r *run) startSampling() {
	r.lastT = time.Now()
	r.lastSelf = procstat.Self()
	r.selfPeak, r.selfStart = r.lastSelf.RSS, r.lastSelf.RSS
	if len(r.cfg.PIDs) > 0 {
		if s, err := procstat.Sum(r.cfg.PIDs); err == nil {
			r.srvOK, r.lastSrv, r.srvStart, r.srvPeak = true, s, s, s.RSS
		} else {
			r.errs.addKind("server:stat_failed")
		}
	}
}

// snapshot closes the current interval: latencies go into the cumulative
// (and step) histograms and a timeline point is appended.
func (r *run) snapshot() report.Point {
	r.snapMu.Lock()
	defer r.snapMu.Unlock()
	iv, bc := hist.New(), hist.New()
	r.lat.Rotate(iv)
	r.connLat.Rotate(r.connCum)
	r.bcast.Rotate(bc)
	r.bcastCum.Merge(bc)
	r.cum.Merge(iv)
	if r.step != nil {
		r.step.Merge(iv)
	}
	now := time.Now()
	dt := now.Sub(r.lastT).Seconds()
	if dt <= 0 {
		dt = 1e-9
	}
	sent := r.sent.Load()
	_, deliv := r.deliveredTotal()
	self := procstat.Self()
	s := hist.Summarize(iv)
	p := report.Point{
		T:             now.Sub(r.epoch).Seconds(),
		Conns:         r.open.Load(),
		SentPerS:      float64(sent-r.lastSent) / dt,
		DeliveredPerS: float64(deliv-r.lastDeliv) / dt,
		P50:           s.P50,
		P99:           s.P99,
		Max:           s.Max,
		TesterCPU:     100 * (self.CPU - r.lastSelf.CPU).Seconds() / dt,
	}
	if bc.TotalCount() > 0 {
		b := hist.Summarize(bc)
		p.BroadcastP50, p.BroadcastP99 = b.P50, b.P99
	}
	r.selfPeak = max(r.selfPeak, self.RSS)
	if r.srvOK {
		if srv, err := procstat.Sum(r.cfg.PIDs); err == nil {
			p.ServerCPU = 100 * (srv.CPU - r.lastSrv.CPU).Seconds() / dt
			p.ServerRSS = srv.RSS
			r.srvPeak = max(r.srvPeak, srv.RSS)
			r.lastSrv = srv
		}
	}
	r.lastT, r.lastSent, r.lastDeliv, r.lastSelf = now, sent, deliv, self
	r.timeline = append(r.timeline, p)
	if r.cfg.Progress != nil {
		r.cfg.Progress(p)
	}
	return p
}

func (r *run) deliveredTotal() (conns int, n int64) {
	r.connsMu.Lock()
	defer r.connsMu.Unlock()
	for _, c := range r.conns {
		n += c.delivered.Load()
	}
	return len(r.conns), n
}

// window measures CPU of the tester and the server over a phase.
type window struct {
	t0       time.Time
	self0    procstat.Sample
	srv0     procstat.Sample
	srvOK    bool
	d        time.Duration
	selfCPU  time.Duration
	srvCPU   time.Duration
	srvEnd   procstat.Sample
	selfEnd  procstat.Sample
	finished bool
}

func (r *run) openWindow() *window {
	w := &window{t0: time.Now(), self0: procstat.Self()}
	if len(r.cfg.PIDs) > 0 {
		if s, err := procstat.Sum(r.cfg.PIDs); err == nil {
			w.srv0, w.srvOK = s, true
		}
	}
	return w
}

func (r *run) closeWindow(w *window) {
	w.d = time.Since(w.t0)
	w.selfEnd = procstat.Self()
	w.selfCPU = w.selfEnd.CPU - w.self0.CPU
	if w.srvOK {
		if s, err := procstat.Sum(r.cfg.PIDs); err == nil {
			w.srvEnd = s
			w.srvCPU = s.CPU - w.srv0.CPU
		} else {
			w.srvOK = false
		}
	}
	w.finished = true
	r.snapMu.Lock()
	r.selfPeak = max(r.selfPeak, w.selfEnd.RSS)
	if w.srvOK {
		r.srvPeak = max(r.srvPeak, w.srvEnd.RSS)
	}
	r.snapMu.Unlock()
}

// result assembles the report after the sockets are closed.
func (r *run) result(started time.Time, w *window, sendDur time.Duration) *report.Result {
	r.snapshot()
	res := &report.Result{
		Schema:   report.Schema,
		Scenario: r.cfg.Scenario,
		Mode:     r.cfg.Mode,
		URL:      r.cfg.URL,
		Started:  started.UTC(),
		WallS:    time.Since(started).Seconds(),
		Config:   configMap(r.cfg),
		Host:     report.Host{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH},
		Connections: report.Connections{
			Attempted:      r.attempted.Load(),
			Established:    r.established.Load(),
			Failed:         r.failed.Load(),
			ClosedByServer: r.serverClose.Load(),
			OpenAtEnd:      r.open.Load(),
			SourceAddrs:    r.pool.Len(),
		},
		ConnectTime: hist.Summarize(r.connCum),
		Latency:     hist.Summarize(r.cum),
		Errors:      r.errs.snapshot(),
		Timeline:    r.timeline,
		Passed:      true,
	}
	if r.bcastCum.TotalCount() > 0 {
		b := hist.Summarize(r.bcastCum)
		res.BroadcastLatency = &b
	}
	if r.cfg.ExportRaw {
		res.Raw = &report.Raw{Latency: r.cum.Export(), ConnectTime: r.connCum.Export()}
		if r.bcastCum.TotalCount() > 0 {
			res.Raw.Broadcast = r.bcastCum.Export()
		}
	}
	if len(r.senders) > 0 {
		res.Messages = r.messages(sendDur)
	}
	res.Tester = report.Proc{PIDs: []int{os.Getpid()}, RSSStartBytes: r.timelineStartRSS(), RSSPeakBytes: r.selfPeak}
	if w != nil && w.finished {
		res.Tester.CPUSeconds = w.selfCPU.Seconds()
		res.Tester.CPUPercent = 100 * w.selfCPU.Seconds() / w.d.Seconds()
		res.Tester.RSSEndBytes = w.selfEnd.RSS
		if res.Messages != nil && res.Messages.Delivered > 0 {
			res.Tester.CPUPerMsgUS = float64(w.selfCPU.Microseconds()) / float64(res.Messages.Delivered)
		}
	}
	if r.srvOK {
		srv := &report.Proc{PIDs: r.cfg.PIDs, RSSStartBytes: r.srvStart.RSS, RSSPeakBytes: r.srvPeak}
		if w != nil && w.srvOK {
			srv.CPUSeconds = w.srvCPU.Seconds()
			srv.CPUPercent = 100 * w.srvCPU.Seconds() / w.d.Seconds()
			srv.RSSEndBytes = w.srvEnd.RSS
			if res.Messages != nil && res.Messages.Delivered > 0 {
				srv.CPUPerMsgUS = float64(w.srvCPU.Microseconds()) / float64(res.Messages.Delivered)
			}
		}
		res.Server = srv
	}
	return res
}

func (r *run) timelineStartRSS() int64 { return r.selfStart }

// messages sums the per-socket accounting; readers must have stopped.
func (r *run) messages(d time.Duration) *report.Messages {
	m := &report.Messages{Sent: r.sent.Load()}
	for _, s := range r.senders {
		m.Refused += s.refused.Load()
	}
	for _, c := range r.conns {
		for i, s := range c.room.senders {
			if i == c.selfSlot && !r.cfg.Self {
				continue
			}
			q := &c.seqs[i]
			sent := s.seq.Load()
			refused := s.refused.Load() // arrived nowhere, due to no one
			m.Expected += max(int64(sent-q.Base())-refused, 0)
			m.Delivered += int64(q.Unique)
			m.Lost += max(int64(q.Lost(sent))-refused, 0)
			m.Duplicates += int64(q.Dups)
			m.Reordered += int64(q.Reordered)
			m.Late += int64(q.Late)
			m.Secondary += int64(q.Secondary)
		}
		m.Unmatched += c.unmatched.Load()
		m.Foreign += c.foreign.Load()
		m.Misrouted += c.misrouted.Load()
		m.SelfEchoes += c.selfEcho.Load()
	}
	if d > 0 {
		m.SendWindowS = d.Seconds()
		m.SentPerS = float64(m.Sent) / d.Seconds()
		m.DeliveredPerS = float64(m.Delivered) / d.Seconds()
	}
	return m
}
