package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// MaxPollBody bounds a polled page.
const MaxPollBody = 4 << 20

// MaxPollSamples bounds the samples kept from one poll.
const MaxPollSamples = 2000

// PollConfig makes a stream poll a Prometheus text endpoint.
type PollConfig struct {
	URL   string `json:"url"`
	Every string `json:"every"` // a Go duration, 1s to 24h
}

// DefaultPollEvery is how often a stream polls unless DASHBOARD_POLL_EVERY says.
const DefaultPollEvery = "5s"

// parsePolls reads DASHBOARD_POLL: comma-separated stream=url pairs, all polled
// every `every`. Each is checked as validatePoll does.
func parsePolls(spec, every string) (map[string]PollConfig, error) {
	out := map[string]PollConfig{}
	for _, item := range strings.Split(spec, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		name, u, ok := strings.Cut(item, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("DASHBOARD_POLL: %q is not stream=url", item)
		}
		pc := PollConfig{URL: strings.TrimSpace(u), Every: every}
		if _, err := validatePoll(pc); err != nil {
			return nil, fmt.Errorf("DASHBOARD_POLL: stream %q: %w", name, err)
		}
		out[strings.TrimSpace(name)] = pc
	}
	return out, nil
}

// validatePoll checks a poll the operator configured and returns its interval.
func validatePoll(pc PollConfig) (time.Duration, error) {
	u, err := url.Parse(pc.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return 0, fmt.Errorf("poll url must be an absolute http(s) URL, not %q", truncate(pc.URL, 80))
	}
	d, err := time.ParseDuration(pc.Every)
	if err != nil || d < time.Second || d > 24*time.Hour {
		return 0, fmt.Errorf("poll every must be a duration from 1s to 24h, not %q", pc.Every)
	}
	return d, nil
}

// applyPoll makes the stream's poll schedule what the operator configured
// (Config.Polls): it is created or changed when the configuration says so, and
// removed otherwise, also a poll a client set over HTTP before polls were the
// operator's alone. hasSchedule says whether a "poll" schedule exists.
func (s *Stream) applyPoll(hasSchedule bool) error {
	want, wanted := s.cfg.Polls[s.name]
	applied, stored, err := object.GetJSON[PollConfig](s.st.Storage(), "poll")
	if err != nil {
		return err
	}
	if !wanted {
		if stored {
			if _, err := s.st.Storage().Delete("poll"); err != nil {
				return err
			}
		}
		if hasSchedule {
			if _, err := s.st.Unschedule("poll"); err != nil {
				return err
			}
		}
		return nil
	}
	s.poll = &want
	if stored && applied == want && hasSchedule {
		return nil
	}
	d, err := validatePoll(want)
	if err != nil {
		return err
	}
	if err := object.PutJSON(s.st.Storage(), "poll", want); err != nil {
		return err
	}
	return s.st.Schedule("poll", object.Every(d), nil)
}

// pollClient is the HTTP client of polls: a 10 s timeout, at most 3 redirects,
// none to another host than the configured one.
func pollClient() *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext, Proxy: nil, MaxIdleConns: 10, IdleConnTimeout: 30 * time.Second},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			if req.URL.Host != via[0].URL.Host {
				return fmt.Errorf("redirect to another host (%s) refused", req.URL.Host)
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
