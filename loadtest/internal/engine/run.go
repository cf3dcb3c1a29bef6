package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/warrenhq/warren/loadtest/internal/hist"
	"github.com/warrenhq/warren/loadtest/internal/netx"
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
	buf     []byte
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
	if su, _ := url.Parse(cfg.SenderURL); cfg.SenderURL != "" {
		if err := netx.CheckHost(su.Hostname(), cfg.AllowNonLoopback); err != nil {
			return nil, err
		}
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

func (r *run) expand(tmpl string, rm *room, connID int) string {
	return strings.NewReplacer(
		"{room}", url.PathEscape(rm.name),
		"{conn}", url.QueryEscape(r.cfg.RoomPrefix+"c"+strconv.Itoa(connID)),
	).Replace(tmpl)
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
