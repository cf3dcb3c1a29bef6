package scenario

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/warrenhq/warren/loadtest/internal/engine"
	"github.com/warrenhq/warren/loadtest/internal/hist"
	"github.com/warrenhq/warren/loadtest/internal/procstat"
	"github.com/warrenhq/warren/loadtest/internal/report"
	"github.com/warrenhq/warren/loadtest/internal/wsclient"
)

// runDashboard load-tests the dashboard app. Per stream (-rooms), -senders
// goroutines POST batches of -size events to /parties/stream/<name>/events at
// -rate batches/s each (one batch in flight per sender, so an overloaded server
// slows them down instead of piling up requests); -conns viewers in all, spread
// over the streams, hold a WebSocket and read the pushed deltas.
//
// Measured: accepted events/s per stream and in total, POST latency (to the 202,
// which comes after the durable commit), and ingest-to-screen latency: for every
// delta a viewer receives, its arrival time minus the ts of the oldest event it
// covers (the worst case of that push). Events carry the sender's wall clock; the
// viewers read the same clock.
func runDashboard(ctx context.Context, c engine.Config) (*report.Result, error) {
	if c.Rooms <= 0 {
		c.Rooms = 1
	}
	if c.Conns <= 0 {
		c.Conns = 100 * c.Rooms
	}
	if c.Senders <= 0 {
		c.Senders = 1
	}
	if c.Rate <= 0 {
		c.Rate = 10
	}
	if c.Size <= 0 {
		c.Size = 1000
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Drain <= 0 {
		c.Drain = 2 * time.Second
	}
	if c.RoomPrefix == "" {
		var b [4]byte
		rand.Read(b[:])
		c.RoomPrefix = "lt-" + hex.EncodeToString(b[:]) + "-"
	}
	started := time.Now()
	streams := make([]string, c.Rooms)
	for i := range streams {
		streams[i] = c.RoomPrefix + strconv.Itoa(i)
	}
	wsURL := func(room, conn string) string {
		return strings.NewReplacer("{room}", room, "{conn}", conn).Replace(c.URL)
	}
	ingestURL := func(room string) string {
		u := wsURL(room, "x")
		u, _, _ = strings.Cut(u, "?")
		u = strings.Replace(strings.Replace(u, "wss://", "https://", 1), "ws://", "http://", 1)
		return u + "/events"
	}

	var (
		mu      sync.Mutex
		errs    = map[string]int64{}
		lat     = hist.New() // ingest to screen
		postLat = hist.New()
	)
	addErr := func(kind string) {
		mu.Lock()
		errs[kind]++
		mu.Unlock()
	}
	record := func(h *hdr.Histogram, d time.Duration) {
		us := d.Microseconds()
		if us < 1 {
			us = 1
		}
		mu.Lock()
		h.RecordValue(us) //nolint:errcheck // clamped by the histogram's range
		mu.Unlock()
	}

	// Viewers.
	var established, failed, closedByServer, pushes atomic.Int64
	measuring := atomic.Bool{}
	vctx, stopViewers := context.WithCancel(ctx)
	defer stopViewers()
	var vwg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var dialWG sync.WaitGroup
	for i := range c.Conns {
		room := streams[i%len(streams)]
		dialWG.Add(1)
		sem <- struct{}{}
		go func() {
			defer dialWG.Done()
			dctx, cancel := context.WithTimeout(vctx, 10*time.Second)
			conn, err := wsclient.Dial(dctx, wsURL(room, fmt.Sprintf("lt-viewer-%d", i)), wsclient.Options{})
			cancel()
			<-sem
			if err != nil {
				failed.Add(1)
				addErr("connect:" + errKind(err))
				return
			}
			established.Add(1)
			vwg.Add(1)
			go func() {
				defer vwg.Done()
				context.AfterFunc(vctx, func() { conn.Close() })
				var f struct {
					Type  string `json:"type"`
					First int64  `json:"first"`
				}
				for {
					_, p, err := conn.ReadMessage()
					if err != nil {
						if vctx.Err() == nil {
							closedByServer.Add(1)
							addErr("read:" + errKind(err))
						}
						return
					}
					now := time.Now()
					f.Type, f.First = "", 0
					if json.Unmarshal(p, &f) != nil || f.Type != "delta" || f.First == 0 || !measuring.Load() {
						continue
					}
					pushes.Add(1)
					record(lat, now.Sub(time.UnixMilli(f.First)))
				}
			}()
		}()
	}
	dialWG.Wait()

	// Senders.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConnsPerHost: c.Rooms * c.Senders, MaxIdleConns: c.Rooms * c.Senders,
	}}
	accepted := make([]atomic.Int64, len(streams))
	var batches atomic.Int64
	srv0, _ := procstat.Sum(c.PIDs)
	self0 := procstat.Self()
	measuring.Store(true)
	sendStart := time.Now()
	sctx, stopSend := context.WithTimeout(ctx, c.Duration)
	defer stopSend()
	var swg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / c.Rate)
	for si, room := range streams {
		for s := range c.Senders {
			swg.Add(1)
			go func() {
				defer swg.Done()
				url := ingestURL(room)
				var buf bytes.Buffer
				next := time.Now().Add(time.Duration(s) * interval / time.Duration(c.Senders))
				for n := 0; c.Messages <= 0 || n < c.Messages; n++ {
					if d := time.Until(next); d > 0 {
						select {
						case <-time.After(d):
						case <-sctx.Done():
						}
					}
					if sctx.Err() != nil {
						return
					}
					next = next.Add(interval)
					if behind := time.Since(next); behind > time.Second {
						next = time.Now() // do not burst to catch up
					}
					buf.Reset()
					ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
					buf.WriteByte('[')
					for j := range c.Size {
						if j > 0 {
							buf.WriteByte(',')
						}
						buf.WriteString(`{"name":"lt_m`)
						buf.WriteString(strconv.Itoa(j % 4))
						buf.WriteString(`","value":`)
						buf.WriteString(strconv.Itoa((j * 7919) % 1000))
						buf.WriteString(`,"ts":`)
						buf.WriteString(ts)
						buf.WriteByte('}')
					}
					buf.WriteByte(']')
					t0 := time.Now()
					resp, err := client.Post(url, "application/json", bytes.NewReader(buf.Bytes()))
					if err != nil {
						if sctx.Err() == nil {
							addErr("post:" + errKind(err))
						}
						continue
					}
					io.Copy(io.Discard, resp.Body) //nolint:errcheck
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						addErr("post:http_" + strconv.Itoa(resp.StatusCode))
						continue
					}
					record(postLat, time.Since(t0))
					accepted[si].Add(int64(c.Size))
					batches.Add(1)
				}
			}()
		}
	}
	swg.Wait()
	window := time.Since(sendStart)
	// Drain: the last pushes arrive within a push interval.
	select {
	case <-time.After(c.Drain):
	case <-ctx.Done():
	}
	measuring.Store(false)
	srv1, _ := procstat.Sum(c.PIDs)
	self1 := procstat.Self()
	stopViewers()
	vwg.Wait()

	var total int64
	perStream := make([]float64, len(streams))
	for i := range accepted {
		n := accepted[i].Load()
		total += n
		perStream[i] = float64(n) / window.Seconds()
	}
	mu.Lock()
	latS, postS := hist.Summarize(lat), hist.Summarize(postLat)
	mu.Unlock()
	res := &report.Result{
		Schema: report.Schema, Scenario: "dashboard", Mode: engine.Fixed, URL: c.URL, Started: started,
		WallS: time.Since(started).Seconds(),
		Config: map[string]any{
			"streams": c.Rooms, "viewers": c.Conns, "senders_per_stream": c.Senders, "batch_events": c.Size,
			"rate_batches_per_sender": c.Rate, "duration_s": c.Duration.Seconds(),
			"events_per_s_per_stream": perStream, "events_per_s_total": float64(total) / window.Seconds(),
			"batches": batches.Load(), "post_latency": postS, "pushes_per_s_per_viewer": float64(pushes.Load()) / window.Seconds() / float64(max(1, established.Load())),
		},
		Host: report.Host{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS},
		Connections: report.Connections{Attempted: int64(c.Conns), Established: established.Load(), Failed: failed.Load(),
			ClosedByServer: closedByServer.Load(), OpenAtEnd: established.Load() - closedByServer.Load()},
		Messages: &report.Messages{Sent: total, Delivered: pushes.Load(), SendWindowS: window.Seconds(),
			SentPerS: float64(total) / window.Seconds(), DeliveredPerS: float64(pushes.Load()) / window.Seconds()},
		Latency:  latS,
		Errors:   errs,
		Timeline: []report.Point{},
		Passed:   true,
		Tester:   report.Proc{CPUSeconds: (self1.CPU - self0.CPU).Seconds(), CPUPercent: 100 * (self1.CPU - self0.CPU).Seconds() / window.Seconds(), RSSEndBytes: self1.RSS},
	}
	if len(c.PIDs) > 0 {
		cpu := (srv1.CPU - srv0.CPU).Seconds()
		res.Server = &report.Proc{PIDs: c.PIDs, CPUSeconds: cpu, CPUPercent: 100 * cpu / window.Seconds(),
			RSSStartBytes: srv0.RSS, RSSEndBytes: srv1.RSS, RSSPeakBytes: max(srv0.RSS, srv1.RSS)}
		if total > 0 {
			res.Server.CPUPerMsgUS = cpu * 1e6 / float64(total)
		}
	}
	if ctx.Err() != nil {
		res.Aborted = "interrupted"
	}
	fmt.Fprintf(os.Stderr, "dashboard: %d streams × %d viewers; accepted %.0f events/s in total, per stream %s; POST p50 %.1f ms p99 %.1f ms; "+
		"ingest-to-screen p50 %.1f ms p99 %.1f ms max %.1f ms over %d pushes (%.2f per viewer per second)\n",
		c.Rooms, c.Conns/c.Rooms, float64(total)/window.Seconds(), fmtRates(perStream), postS.P50, postS.P99,
		latS.P50, latS.P99, latS.Max, latS.Count, res.Config["pushes_per_s_per_viewer"])
	return res, nil
}

func fmtRates(r []float64) string {
	var b strings.Builder
	for i, v := range r {
		if i > 0 {
			b.WriteString(" ")
		}
		if i == 8 {
			fmt.Fprintf(&b, "… (%d streams)", len(r))
			break
		}
		fmt.Fprintf(&b, "%.0f", v)
	}
	return b.String()
}

func errKind(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "none"
	case strings.Contains(err.Error(), "refused"):
		return "refused"
	case asNetTimeout(err, &ne):
		return "timeout"
	case err == io.EOF || strings.Contains(err.Error(), "EOF"):
		return "eof"
	}
	var ce *wsclient.CloseError
	if asCloseError(err, &ce) {
		return "closed_" + strconv.Itoa(ce.Code)
	}
	return "other"
}

func asNetTimeout(err error, ne *net.Error) bool {
	if errors.As(err, ne) {
		return (*ne).Timeout()
	}
	return false
}

func asCloseError(err error, ce **wsclient.CloseError) bool { return errors.As(err, ce) }
