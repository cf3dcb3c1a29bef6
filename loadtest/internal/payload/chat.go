package payload

import (
	"bytes"
	"strconv"
)

// Chat is the codec for the durable-chat-template protocol. It sends
//
//	{"type":"add","id":"<token>","content":"<token> xxx…","user":"lt-<sender>","role":"user"}
//
// and recognises top-level {"type":"add"} (Primary) and {"type":"update"}
// (Secondary) objects whose "id" or, failing that, "content" starts with a
// token; an "update" with an "error" member is the server's refusal of the
// message, told to its sender (Refused). Other frames, e.g. the {"type":"all"}
// history, carry no data.
type Chat struct{}

func (Chat) Name() string { return "chat" }

func (Chat) Append(dst []byte, m Meta, size int) []byte {
	start := len(dst)
	dst = append(dst, `{"type":"add","id":"`...)
	dst = AppendToken(dst, m)
	dst = append(dst, `","content":"`...)
	dst = AppendToken(dst, m)
	// Filler goes inside content, sized so the whole frame is size bytes.
	tail := len(`","user":"lt-`) + decimalLen(uint64(m.Sender)) + len(`","role":"user"}`)
	if fill := size - (len(dst) - start) - tail; fill > 0 {
		dst = append(dst, ' ')
		for ; fill > 1; fill-- {
			dst = append(dst, 'x')
		}
	}
	dst = append(dst, `","user":"lt-`...)
	dst = strconv.AppendUint(dst, uint64(m.Sender), 10)
	dst = append(dst, `","role":"user"}`...)
	return dst
}

func decimalLen(v uint64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

func (Chat) Decode(frame []byte) (Meta, Kind, bool) {
	var f chatFields
	if !scanObject(frame, &f) {
		return Meta{}, Primary, false
	}
	var k Kind
	switch string(f.typ) {
	case "add":
		k = Primary
	case "update":
		k = Secondary
		if f.err {
			k = Refused
		}
	default:
		return Meta{}, Primary, false
	}
	if m, ok := ParseToken(f.id); ok {
		return m, k, true
	}
	if m, ok := ParseToken(f.content); ok {
		return m, k, true
	}
	return Meta{}, Primary, false
}

// chatFields holds the raw (still escaped) string values of the top-level
// members the chat decoder needs.
type chatFields struct {
	typ, id, content []byte
	err              bool // an "error" member, of any type
}

// scanObject walks one JSON object and records the top-level string members
// "type", "id" and "content". It reports false when frame is not an object.
// Nested values are skipped without being validated in detail.
func scanObject(b []byte, f *chatFields) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for i < len(b) {
		if b[i] != '"' {
			return false
		}
		ks, ke, ok := scanString(b, i)
		if !ok {
			return false
		}
		key := b[ks:ke]
		i = skipWS(b, ke+1)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return false
		}
		if string(key) == "error" {
			f.err = true
		}
		if b[i] == '"' {
			vs, ve, ok := scanString(b, i)
			if !ok {
				return false
			}
			switch string(key) {
			case "type":
				f.typ = b[vs:ve]
			case "id":
				f.id = b[vs:ve]
			case "content":
				f.content = b[vs:ve]
			}
			i = ve + 1
		} else {
			i = skipValue(b, i)
			if i < 0 {
				return false
			}
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return true
		default:
			return false
		}
	}
	return false
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the bounds of the contents of the string starting with
// the quote at b[i]; end is the index of the closing quote.
// It finds each quote with bytes.IndexByte and counts the backslashes before it
// (an odd count escapes it): the chat frames' long contents are skipped at memchr
// speed, not byte by byte (scanStringRef in the tests is the plain loop).
func scanString(b []byte, i int) (start, end int, ok bool) {
	j := i + 1 // no quote before j is unescaped, and b[j-1] is not a backslash
	for j < len(b) {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, 0, false
		}
		q := j + k
		n := 0
		for q-n-1 >= j && b[q-n-1] == '\\' {
			n++
		}
		if n%2 == 0 {
			return i + 1, q, true
		}
		j = q + 1
	}
	return 0, 0, false
}

// skipValue skips a non-string value (number, literal, object, array) at
// b[i] and returns the index after it, or -1.
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch c := b[i]; c {
		case '"':
			_, e, ok := scanString(b, i)
			if !ok {
				return -1
			}
			i = e + 1
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		case ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	if depth == 0 {
		return i
	}
	return -1
}
