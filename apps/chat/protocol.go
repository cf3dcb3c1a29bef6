package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on what clients send. Frames beyond them are refused with an error frame;
// the socket stays open.
const (
	MaxFrameBytes   = 16 << 10  // one client frame
	MaxContentBytes = 4000      // one message's text
	MaxNameBytes    = 64        // a user name
	MaxIDBytes      = 64        // a client-chosen message id
	MaxSearchBytes  = 200       // a search query
	PageSize        = 50        // messages in "all" and in one history page
	MaxPage         = 200       // the largest history page a client may ask for
	MaxResume       = 1000      // changes replayed on resume; beyond it the client gets "all"
	MaxReplyBytes   = 128 << 10 // the messages of one all, chat:resume, chat:history or chat:search frame (at least one)
)

// Frame types. The first three are durable-chat-template's; extended ones carry the
// "chat:" prefix and go only to clients that connected with ?proto=1.
const (
	TypeAll      = "all"
	TypeAdd      = "add"
	TypeUpdate   = "update"
	TypeDelete   = "chat:delete"
	TypeHistory  = "chat:history"
	TypeSearch   = "chat:search"
	TypeTyping   = "chat:typing"
	TypeWelcome  = "chat:welcome"
	TypeResume   = "chat:resume"
	TypePresence = "chat:presence"
	TypeJoin     = "chat:join"
	TypeLeave    = "chat:leave"
	TypeError    = "chat:error"
)

// Error codes of chat:error frames.
const (
	ErrInvalid     = "invalid"      // malformed frame or field
	ErrTooLarge    = "too_large"    // over a size limit
	ErrRateLimited = "rate_limited" // the user's token bucket is empty
	ErrForbidden   = "forbidden"    // editing or deleting someone else's message
	ErrNotFound    = "not_found"    // no message with that id
)

// ClientFrame is a decoded, validated frame from a client. Only the fields of its
// Type are set.
type ClientFrame struct {
	Type    string `json:"type"`
	ID      string `json:"id,omitempty"`      // add, update, chat:delete
	Content string `json:"content,omitempty"` // add, update
	User    string `json:"user,omitempty"`    // add, update
	Role    string `json:"role,omitempty"`    // add, update: "user" (default) or "assistant"
	Before  int64  `json:"before,omitempty"`  // chat:history: messages with seq < Before (0: the latest)
	Limit   int    `json:"limit,omitempty"`   // chat:history: page size (default PageSize)
	Q       string `json:"q,omitempty"`       // chat:search
	Typing  bool   `json:"typing,omitempty"`  // chat:typing
	Since   int64  `json:"since,omitempty"`   // chat:resume: the rev the client has every change up to
}

// FrameError is a client error reported in a chat:error frame.
type FrameError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	ID      string `json:"id,omitempty"` // the message id the error is about, if any
	// RetryAfter is, for rate_limited, the milliseconds after which the frame may
	// succeed.
	RetryAfter int64 `json:"retryAfter,omitempty"`
}

func (e *FrameError) Error() string { return e.Code + ": " + e.Message }

func invalid(format string, args ...any) *FrameError {
	return &FrameError{Code: ErrInvalid, Message: fmt.Sprintf(format, args...)}
}

func tooLarge(format string, args ...any) *FrameError {
	return &FrameError{Code: ErrTooLarge, Message: fmt.Sprintf(format, args...)}
}

// DecodeFrame parses and validates one client frame. It never panics; every error
// is a *FrameError fit to send back. Unknown fields are ignored (template clients
// send more than we read).
func DecodeFrame(data []byte) (ClientFrame, error) {
	var f ClientFrame
	if len(data) > MaxFrameBytes {
		return f, tooLarge("frame of %d bytes, at most %d", len(data), MaxFrameBytes)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return ClientFrame{}, invalid("not a JSON object: %v", jsonError(err))
	}
	var err *FrameError
	switch f.Type {
	case TypeAdd, TypeUpdate:
		err = validateMessage(&f)
	case TypeDelete:
		err = validateID(f.ID)
	case TypeHistory:
		switch {
		case f.Before < 0:
			err = invalid("before must be >= 0")
		case f.Limit < 0 || f.Limit > MaxPage:
			err = invalid("limit must be 0 to %d", MaxPage)
		case f.Limit == 0:
			f.Limit = PageSize
		}
	case TypeSearch:
		f.Q = strings.TrimSpace(f.Q)
		switch {
		case len(f.Q) > MaxSearchBytes:
			err = tooLarge("search of %d bytes, at most %d", len(f.Q), MaxSearchBytes)
		case !utf8.ValidString(f.Q):
			err = invalid("search is not valid UTF-8")
		}
	case TypeResume:
		if f.Since <= 0 {
			err = invalid("since must be a rev > 0")
		}
	case TypeTyping:
		if f.User != "" {
			err = validateName(f.User)
		}
	default:
		err = invalid("unknown frame type %q", truncate(f.Type, 32))
	}
	if err != nil {
		if f.Type == TypeAdd || f.Type == TypeUpdate || f.Type == TypeDelete {
			err.ID = safeID(f.ID)
		}
		return ClientFrame{}, err
	}
	return f, nil
}

func validateMessage(f *ClientFrame) *FrameError {
	if err := validateID(f.ID); err != nil {
		return err
	}
	if f.Role == "" {
		f.Role = "user"
	}
	if f.Role != "user" && f.Role != "assistant" {
		return invalid("role must be \"user\" or \"assistant\"")
	}
	if err := validateName(f.User); err != nil {
		return err
	}
	switch {
	case len(f.Content) > MaxContentBytes:
		return tooLarge("message of %d bytes, at most %d", len(f.Content), MaxContentBytes)
	case !utf8.ValidString(f.Content):
		return invalid("message is not valid UTF-8")
	case strings.TrimSpace(f.Content) == "":
		return invalid("message is empty")
	}
	return nil
}

// validateID accepts 1 to MaxIDBytes of printable ASCII without spaces (nanoid's
// alphabet and more: the template does not restrict ids).
func validateID(id string) *FrameError {
	if id == "" || len(id) > MaxIDBytes {
		return invalid("id must have 1 to %d characters", MaxIDBytes)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return invalid("id may hold only printable ASCII without spaces")
		}
	}
	return nil
}

// validateName accepts 1 to MaxNameBytes of UTF-8 without control characters.
func validateName(name string) *FrameError {
	if len(name) > MaxNameBytes {
		return tooLarge("name of %d bytes, at most %d", len(name), MaxNameBytes)
	}
	if strings.TrimSpace(name) == "" || !utf8.ValidString(name) {
		return invalid("name must be 1 to %d bytes of UTF-8", MaxNameBytes)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return invalid("name has control characters")
		}
	}
	return nil
}

// safeID echoes an id back only when it is valid, so error frames never carry junk.
func safeID(id string) string {
	if validateID(id) != nil {
		return ""
	}
	return id
}

func jsonError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	}
	return "malformed"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// ftsQuery turns free text into an FTS5 query that cannot be a syntax error: every
// word quoted, all required, the last one a prefix. It returns "" for no words.
func ftsQuery(q string) string {
	words := strings.Fields(q)
	if len(words) > 10 {
		words = words[:10]
	}
	parts := make([]string, 0, len(words))
	for _, w := range words {
		parts = append(parts, `"`+strings.ReplaceAll(w, `"`, `""`)+`"`)
	}
	if len(parts) == 0 {
		return ""
	}
	parts[len(parts)-1] += "*"
	return strings.Join(parts, " ")
}
