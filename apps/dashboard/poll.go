package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// MaxPollBody bounds a polled page.
const MaxPollBody = 4 << 20

// MaxPollSamples bounds the samples kept from one poll.
const MaxPollSamples = 2000

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// pollClient is the HTTP client of polls: a 10 s timeout, at most 3 redirects, and
// unless anyHost, connections only to loopback addresses (checked on the resolved
// address at dial time, so neither DNS nor a redirect can lead elsewhere).
func pollClient(anyHost bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if !anyHost {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("dashboard: poll of non-loopback address %s refused", host)
			}
			return nil
		}
	}
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext, Proxy: nil, MaxIdleConns: 10, IdleConnTimeout: 30 * time.Second},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
}

// fetchProm GETs a Prometheus text page and parses it.
func fetchProm(ctx context.Context, c *http.Client, url string) ([]PromSample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPollBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxPollBody {
		return nil, fmt.Errorf("GET %s: page larger than %d bytes", url, MaxPollBody)
	}
	samples, _ := ParsePromText(body, MaxPollSamples)
	if len(samples) == 0 {
		return nil, fmt.Errorf("GET %s: no samples in Prometheus text format", url)
	}
	return samples, nil
}

// startPoll fetches the poll URL outside the object's turn and ingests the result
// in a new turn. Only one poll runs at a time.
func (s *Stream) startPoll() {
	if s.poll == nil || s.polling {
		return
	}
	s.polling = true
	url, client := s.poll.URL, s.cfg.PollClient
	s.st.Go(func(ctx context.Context) func(context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		samples, err := fetchProm(ctx, client, url)
		at := time.Now()
		return func(context.Context) error {
			s.polling = false
			if err != nil {
				s.recordError("poll", err)
				return nil
			}
			evs := s.promEvents(samples, at)
			if len(evs) == 0 {
				return nil
			}
			if err := s.ingest(evs); err != nil {
				var be *BatchError
				if errors.As(err, &be) {
					s.recordError("poll", err)
					return nil
				}
				return err
			}
			return nil
		}
	})
}

// promEvents turns samples into events: gauges as they are, counters as per-second
// rates since the previous poll (none on the first poll, nor after a reset). New
// series beyond the stream's limit are dropped.
func (s *Stream) promEvents(samples []PromSample, at time.Time) []Event {
	evs := make([]Event, 0, len(samples))
	room := s.cfg.MaxSeries - len(s.ids)
	ms := at.UnixMilli()
	for _, p := range samples {
		key, err := promSeries(p)
		if err != nil {
			continue
		}
		v := p.Value
		if p.Type == "counter" {
			prev, ok := s.counters[key]
			s.counters[key] = counterSample{v: p.Value, at: at}
			dt := at.Sub(prev.at).Seconds()
			if !ok || p.Value < prev.v || dt <= 0 {
				continue
			}
			v = (p.Value - prev.v) / dt
		}
		if _, ok := s.ids[key]; !ok {
			if room <= 0 {
				continue
			}
			room--
		}
		evs = append(evs, Event{Series: key, TsMs: ms, Value: v})
	}
	return evs
}
