package main

import (
	"net/http"
	"time"
)

// Config configures the dashboard. The zero value of every field is usable.
type Config struct {
	// PushRate bounds the live updates pushed to a stream's viewers, per second.
	// Default 4.
	PushRate float64
	// Keep1s, Keep1m and Keep1h are how long buckets of each resolution are kept.
	// Defaults 1 h, 7 days and 365 days.
	Keep1s, Keep1m, Keep1h time.Duration
	// MaxSeries bounds the series (metric name + tags) of one stream. Default 1,000.
	MaxSeries int
	// MaxEvents bounds the events of one batch. Default 10,000.
	MaxEvents int
	// Late and Future bound an event's ts relative to the server's clock.
	// Defaults 10 min and 1 min.
	Late, Future time.Duration
	// DownsampleAfter is how long after an ingestion the 1 s buckets are folded into
	// 1 min and 1 h buckets. Default 5 s.
	DownsampleAfter time.Duration
	// RetentionEvery is how often expired buckets are deleted. Default 10 min.
	RetentionEvery time.Duration
	// SelfStream is the stream that records this process's own runtime metrics;
	// "-" disables it. Default "warren".
	SelfStream string
	// SelfEvery is how often the self stream samples the runtime. Default 1 s.
	SelfEvery time.Duration
	// Polls maps a stream's name to the Prometheus text endpoint it polls. Only the
	// operator sets them (DASHBOARD_POLL); no client can, so the dashboard is no
	// proxy into the network it runs in. Default none.
	Polls map[string]PollConfig
	// PollClient, if set, is the HTTP client polls use (tests).
	PollClient *http.Client
}

func (c Config) withDefaults() Config {
	if c.PushRate <= 0 {
		c.PushRate = 4
	}
	defd := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	defd(&c.Keep1s, time.Hour)
	defd(&c.Keep1m, 7*24*time.Hour)
	defd(&c.Keep1h, 365*24*time.Hour)
	defd(&c.Late, 10*time.Minute)
	defd(&c.Future, time.Minute)
	defd(&c.DownsampleAfter, 5*time.Second)
	defd(&c.RetentionEvery, 10*time.Minute)
	defd(&c.SelfEvery, time.Second)
	if c.MaxSeries <= 0 {
		c.MaxSeries = 1000
	}
	if c.MaxEvents <= 0 {
		c.MaxEvents = 10000
	}
	if c.SelfStream == "" {
		c.SelfStream = "warren"
	}
	if c.PollClient == nil {
		c.PollClient = pollClient()
	}
	return c
}
