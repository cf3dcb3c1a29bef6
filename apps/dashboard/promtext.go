package main

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// PromSample is one sample of a Prometheus text exposition.
type PromSample struct {
	Name   string
	Labels map[string]string
	Type   string // counter, gauge, summary, histogram or untyped (from # TYPE)
	Value  float64
}

// ParsePromText reads the Prometheus text format (version 0.0.4) minimally and
// safely: it keeps at most max samples with finite values, ignores HELP and other
// comments, histogram _bucket lines and timestamps, and skips malformed lines,
// which it counts. It never panics and allocates in proportion to its input.
func ParsePromText(b []byte, max int) (samples []PromSample, skipped int) {
	types := map[string]string{}
	for rest := b; len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] == '#' {
			f := strings.Fields(string(line[1:]))
			if len(f) >= 3 && f[0] == "TYPE" && len(types) < 10000 {
				types[f[1]] = f[2]
			}
			continue
		}
		if len(samples) >= max {
			skipped++
			continue
		}
		s, ok := parsePromLine(string(line))
		if !ok {
			skipped++
			continue
		}
		base := s.Name
		if t, ok := types[base]; ok {
			s.Type = t
		} else {
			for _, suf := range []string{"_bucket", "_sum", "_count", "_total"} {
				if b, ok := strings.CutSuffix(base, suf); ok {
					if t, ok := types[b]; ok {
						s.Type = t
						if suf == "_bucket" && t == "histogram" {
							s.Type = "bucket"
						}
						if (suf == "_sum" || suf == "_count") && (t == "histogram" || t == "summary") {
							s.Type = "counter"
						}
						break
					}
				}
			}
		}
		if s.Type == "bucket" {
			continue
		}
		if s.Type == "" {
			s.Type = "untyped"
		}
		samples = append(samples, s)
	}
	return samples, skipped
}

func isNameChar(c byte, first bool) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

func parsePromLine(l string) (PromSample, bool) {
	var s PromSample
	i := 0
	for i < len(l) && isNameChar(l[i], i == 0) {
		i++
	}
	if i == 0 || i > MaxNameLen {
		return s, false
	}
	s.Name = l[:i]
	if i < len(l) && l[i] == '{' {
		i++
		s.Labels = map[string]string{}
		for {
			for i < len(l) && (l[i] == ' ' || l[i] == ',') {
				i++
			}
			if i < len(l) && l[i] == '}' {
				i++
				break
			}
			j := i
			for j < len(l) && isNameChar(l[j], j == i) {
				j++
			}
			if j == i || j >= len(l) || l[j] != '=' || j+1 >= len(l) || l[j+1] != '"' {
				return s, false
			}
			key := l[i:j]
			i = j + 2
			var v strings.Builder
			closed := false
			for i < len(l) {
				c := l[i]
				if c == '\\' && i+1 < len(l) {
					switch l[i+1] {
					case 'n':
						v.WriteByte('\n')
					default:
						v.WriteByte(l[i+1])
					}
					i += 2
					continue
				}
				if c == '"' {
					closed = true
					i++
					break
				}
				v.WriteByte(c)
				i++
			}
			if !closed || len(s.Labels) >= MaxTags {
				return s, false
			}
			s.Labels[key] = v.String()
		}
	}
	f := strings.Fields(l[i:])
	if len(f) < 1 || len(f) > 2 {
		return s, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return s, false
	}
	s.Value = v
	return s, true
}

// promSeries is the series key an exposition sample is stored under: counters as
// their per-second rate, rate(name{labels}); the rest as name{labels}. Labels that
// are not valid tags are dropped.
func promSeries(s PromSample) (string, error) {
	tags := map[string]string{}
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := s.Labels[k]
		if validTagKey(k) && len(v) <= MaxTagValueLen && !strings.ContainsAny(v, "\n\r\t\x00") && len(tags) < MaxTags {
			tags[k] = v
		}
	}
	key, err := SeriesKey(s.Name, tags)
	if err != nil {
		return "", err
	}
	if s.Type == "counter" {
		key = "rate(" + key + ")"
	}
	if len(key) > 512 {
		return "", fmt.Errorf("series key of %d bytes", len(key))
	}
	return key, nil
}
