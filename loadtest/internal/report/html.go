package report

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// WriteHTML writes r as one self-contained HTML page (no scripts, no
// external resources): the summary, latency-over-time and throughput plots
// as inline SVG, the ramp steps, and the JSON result embedded for machines.
func WriteHTML(w io.Writer, r *Result) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	ts := make([]float64, len(r.Timeline))
	for i, p := range r.Timeline {
		ts[i] = p.T
	}
	col := func(f func(Point) float64) []float64 {
		out := make([]float64, len(r.Timeline))
		for i, p := range r.Timeline {
			out[i] = f(p)
		}
		return out
	}
	data := map[string]any{
		"R":    r,
		"Rows": rows(r),
		"Latency": plot("one-way latency per interval (ms)", ts, []series{
			{"p50", "#1f77b4", col(func(p Point) float64 { return p.P50 })},
			{"p99", "#d62728", col(func(p Point) float64 { return p.P99 })},
			{"max", "#999999", col(func(p Point) float64 { return p.Max })},
		}),
		"Throughput": plot("messages per second", ts, []series{
			{"delivered/s", "#2ca02c", col(func(p Point) float64 { return p.DeliveredPerS })},
			{"sent/s", "#ff7f0e", col(func(p Point) float64 { return p.SentPerS })},
		}),
		"Resources": plot("CPU (% of a core) and open sockets (thousands)", ts, []series{
			{"tester cpu %", "#9467bd", col(func(p Point) float64 { return p.TesterCPU })},
			{"server cpu %", "#8c564b", col(func(p Point) float64 { return p.ServerCPU })},
			{"sockets (k)", "#17becf", col(func(p Point) float64 { return float64(p.Conns) / 1000 })},
		}),
		"JSON": template.JS(strings.ReplaceAll(string(js), "</", `<\/`)),
	}
	return page.Execute(w, data)
}

type series struct {
	Name, Color string
	Y           []float64
}

// plot renders a line chart as SVG markup.
func plot(title string, xs []float64, ss []series) template.HTML {
	const W, H, L, R, T, B = 760.0, 240.0, 60.0, 130.0, 24.0, 30.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %g %g" width="%g" height="%g" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">`, W, H, W, H)
	fmt.Fprintf(&b, `<text x="%g" y="14" font-weight="bold">%s</text>`, L, template.HTMLEscapeString(title))
	if len(xs) == 0 {
		b.WriteString(`<text x="60" y="60">no samples</text></svg>`)
		return template.HTML(b.String())
	}
	xmax, ymax := xs[len(xs)-1], 0.0
	for _, s := range ss {
		for _, y := range s.Y {
			ymax = math.Max(ymax, y)
		}
	}
	if ymax <= 0 {
		ymax = 1
	}
	if xmax <= 0 {
		xmax = 1
	}
	px := func(x float64) float64 { return L + x/xmax*(W-L-R) }
	py := func(y float64) float64 { return H - B - y/ymax*(H-T-B) }
	fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#ccc"/>`, L, T, W-L-R, H-T-B)
	for i := 0; i <= 4; i++ {
		y := ymax * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="end">%.4g</text>`, L-4, py(y)+4, y)
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">%.0fs</text>`, px(xmax*float64(i)/4), H-B+14, xmax*float64(i)/4)
	}
	for k, s := range ss {
		var pts strings.Builder
		for i, y := range s.Y {
			fmt.Fprintf(&pts, "%.1f,%.1f ", px(xs[i]), py(y))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, s.Color, pts.String())
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="10" height="10" fill="%s"/><text x="%g" y="%g">%s</text>`,
			W-R+10, T+float64(k)*16, s.Color, W-R+24, T+float64(k)*16+9, template.HTMLEscapeString(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

var page = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Warren load test: {{.R.Scenario}} {{.R.Mode}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:900px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;font-size:13px}
th{background:#f5f5f5}.bad{color:#b00;font-weight:bold}
</style></head><body>
<h1>Warren load test: {{.R.Scenario}} ({{.R.Mode}})</h1>
<table>{{range .Rows}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>{{end}}</table>
{{.Latency}}
{{.Throughput}}
{{.Resources}}
{{if .R.Steps}}<h2>Ramp steps</h2>
<table><tr><th>step</th><th>conns</th><th>rate/sender</th><th>offered/s</th><th>delivered/s</th><th>p50 ms</th><th>p99 ms</th><th>lost</th><th>SLO</th></tr>
{{range .R.Steps}}<tr><td>{{.Index}}</td><td>{{.Conns}}</td><td>{{printf "%.4g" .RatePerSender}}</td><td>{{printf "%.0f" .OfferedPerS}}</td><td>{{printf "%.0f" .DeliveredPerS}}</td><td>{{printf "%.2f" .Latency.P50}}</td><td>{{printf "%.2f" .Latency.P99}}</td><td>{{.Lost}}</td><td>{{if .OK}}ok{{else}}<span class="bad">{{.Why}}</span>{{end}}</td></tr>
{{end}}</table>{{end}}
<script type="application/json" id="result">{{.JSON}}</script>
</body></html>
`))
