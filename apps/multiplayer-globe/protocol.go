package main

import (
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/warrenhq/warren/runtime/server"
)

// Limits on what clients send.
const (
	MaxFrameBytes = 512 // one client frame
	MaxNameRunes  = 20  // a display name
	MaxProbeBytes = 64  // an input probe (echoed in the next tick's "a")
	InputRate     = 30  // input frames per second a socket may send (token bucket refill)
	InputBurst    = 40  // token bucket size
	MaxDropped    = 300 // frames over the rate a socket may send before it is closed
)

// Close codes of the game (4000-4999 are the application's).
const (
	CloseRateLimited = 4029 // too many frames over the input rate
	CloseBadRequest  = 4400 // a malformed connect parameter (token)
	CloseReplaced    = 4409 // another socket connected with this connection id and took the player over
	CloseTooManyAddr = 4429 // the client address has MaxPerAddr game sockets, or plays in MaxSessionsPerAddr sessions
)

// Join is a game socket's decoded connect parameters.
type Join struct {
	Spectate bool
	Name     string // sanitized; "" when none was given
	UID      string // the player's public id: a hash of the token, else of the connection id
}

// DecodeJoin decodes a game socket's query parameters: spectate=1, name (any
// text: sanitized), token (the player's secret, 16 to 128 of [A-Za-z0-9_-], kept
// in the browser: the same token is the same player on the leaderboard; a
// malformed one is an error). Without a token the player is its connection id,
// which is never shown to others either. lat, lng and tzo are ignored: the server
// decides where players start.
func DecodeJoin(q url.Values, connID string) (Join, error) {
	j := Join{Spectate: q.Get("spectate") == "1", Name: SanitizeName(q.Get("name"), "")}
	switch tok := q.Get("token"); {
	case tok == "":
		j.UID = uidOf("conn:" + connID)
	case server.ValidToken(tok):
		j.UID = uidOf("token:" + tok)
	default:
		return Join{}, errors.New("invalid token: 16 to 128 of A-Z a-z 0-9 _ -")
	}
	return j, nil
}

// uidOf derives a public id from a secret; the secret is never stored.
func uidOf(secret string) string { return server.PublicID("warren-globe-uid", secret) }

// Input is a decoded, validated steering frame:
//
//	{"type":"input","h":<heading, degrees clockwise from north, 0 <= h < 360>,"m":<0|1>,"p":"<probe>"}
//
// "m" says whether the player moves; "p" is optional (at most MaxProbeBytes of
// printable ASCII) and comes back in the next tick's "a" list, which is how the
// load tester measures input-to-broadcast latency.
type Input struct {
	Heading float64
	Moving  bool
	Probe   string
}

var (
	errFrame = errors.New("invalid frame")
)

type rawInput struct {
	Type string          `json:"type"`
	H    json.RawMessage `json:"h"`
	M    json.RawMessage `json:"m"`
	P    *string         `json:"p"`
}

// DecodeInput decodes and validates one client frame. Anything that is not a
// well-formed input frame within the limits is an error.
func DecodeInput(b []byte) (Input, error) {
	if len(b) == 0 || len(b) > MaxFrameBytes {
		return Input{}, errFrame
	}
	var r rawInput
	if err := json.Unmarshal(b, &r); err != nil || r.Type != "input" {
		return Input{}, errFrame
	}
	h, err := strconv.ParseFloat(string(r.H), 64)
	if err != nil || math.IsNaN(h) || h < 0 || h >= 360 {
		return Input{}, errFrame
	}
	var in Input
	in.Heading = h
	switch string(r.M) {
	case "0", "false", "":
	case "1", "true":
		in.Moving = true
	default:
		return Input{}, errFrame
	}
	if r.P != nil {
		p := *r.P
		if len(p) > MaxProbeBytes {
			return Input{}, errFrame
		}
		for i := 0; i < len(p); i++ {
			if p[i] < 0x21 || p[i] > 0x7e {
				return Input{}, errFrame
			}
		}
		in.Probe = p
	}
	return in, nil
}

// SanitizeName makes a display name safe to store and show: printable
// characters only, spaces collapsed, at most MaxNameRunes runes. The front end
// still renders it as text, never as HTML. An empty result becomes fallback.
func SanitizeName(s, fallback string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	var b strings.Builder
	n, space := 0, false
	for _, r := range strings.TrimSpace(s) {
		if n >= MaxNameRunes {
			break
		}
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case !unicode.IsPrint(r) || r == '<' || r == '>' || r == '&' || r == '"' || r == '\'' || r == '`':
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			n++
			if n >= MaxNameRunes {
				break
			}
		}
		space = false
		b.WriteRune(r)
		n++
	}
	if b.Len() == 0 {
		return fallback
	}
	return b.String()
}

// bucket is a token bucket for one socket's input frames.
type bucket struct {
	tokens  float64
	last    int64 // unix nanoseconds
	dropped int
}

// allow reports whether a frame arriving at now (unix ns) is within the rate.
func (b *bucket) allow(now int64) bool {
	if b.last == 0 {
		b.tokens, b.last = InputBurst, now
	}
	if now > b.last {
		b.tokens = min(InputBurst, b.tokens+float64(now-b.last)/1e9*InputRate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	b.dropped++
	return false
}
