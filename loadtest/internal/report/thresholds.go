package report

// Limits are k6-style pass/fail bounds; a negative value disables a bound.
type Limits struct {
	MaxP99MS       float64 // one-way latency p99, ms
	MaxLost        int64   // lost messages
	MaxErrors      int64   // errors of any kind
	MinEstablished int64   // sockets established
}

// NoLimits disables every bound.
var NoLimits = Limits{MaxP99MS: -1, MaxLost: -1, MaxErrors: -1, MinEstablished: -1}

// Check evaluates l against r, appends the outcome to r.Thresholds and
// sets r.Passed. A run that was aborted never passes a bound it could not
// finish measuring.
func (r *Result) Check(l Limits) {
	check := func(name string, limit, value float64, ok bool) {
		r.Thresholds = append(r.Thresholds, Threshold{Name: name, Limit: limit, Value: value, OK: ok})
		if !ok {
			r.Passed = false
		}
	}
	if l.MaxP99MS >= 0 {
		check("p99_ms", l.MaxP99MS, r.Latency.P99, r.Latency.P99 <= l.MaxP99MS && r.Aborted == "")
	}
	if l.MaxLost >= 0 {
		var lost int64
		if r.Messages != nil {
			lost = r.Messages.Lost
		}
		check("lost", float64(l.MaxLost), float64(lost), lost <= l.MaxLost && r.Aborted == "")
	}
	if l.MaxErrors >= 0 {
		var n int64
		for _, v := range r.Errors {
			n += v
		}
		check("errors", float64(l.MaxErrors), float64(n), n <= l.MaxErrors)
	}
	if l.MinEstablished >= 0 {
		n := r.Connections.Established
		check("established", float64(l.MinEstablished), float64(n), n >= l.MinEstablished)
	}
}
