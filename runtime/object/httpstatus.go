package object

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// HTTPStatus maps an error from a call to an HTTP status and a message safe to show a
// client. It is the one place where errors become HTTP statuses: an application
// *Error gives its Status (400 when unset or not an error status) and Message, the
// runtime's sentinels their statuses, anything else 500 "internal error".
func HTTPStatus(err error) (int, string) {
	switch {
	case err == nil:
		return http.StatusOK, ""
	case errors.As(err, new(*Error)):
		ae, _ := AsError(err)
		if ae.Status >= 400 && ae.Status <= 599 {
			return ae.Status, ae.Message
		}
		return http.StatusBadRequest, ae.Message
	case errors.As(err, new(*ElsewhereError)):
		// Not routed to the owner (a host that routes resolves the owner first).
		return http.StatusMisdirectedRequest, err.Error()
	case errors.Is(err, ErrIndeterminate):
		return http.StatusInternalServerError, ErrIndeterminate.Error()
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, err.Error()
	case errors.As(err, new(*ArgumentError)), errors.Is(err, ErrInvalidID), errors.Is(err, ErrInvalidName):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge, err.Error()
	case errors.Is(err, ErrOverloaded):
		return http.StatusServiceUnavailable, err.Error()
	case errors.Is(err, ErrCorrupt):
		// Not retryable and not the client's fault; the details (which object, what
		// SQLite said) are in the server's log, not in the response.
		return http.StatusInternalServerError, ErrCorrupt.Error() + ": restore it from a backup"
	case errors.Is(err, ErrRetryable), errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable, err.Error()
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "timeout"
	case errors.Is(err, context.Canceled):
		return 499, "canceled"
	default:
		return http.StatusInternalServerError, "internal error"
	}
}

// ReplyJSON answers an HTTP request with v as JSON (200), or with err as
// HTTPStatus maps it, as {"error": message} plus "code" for an application *Error.
func ReplyJSON(w http.ResponseWriter, v any, err error) {
	if err != nil {
		code, msg := HTTPStatus(err)
		body := errorBody{Error: msg}
		if ae, ok := AsError(err); ok {
			body.Code = ae.Code
		}
		WriteJSON(w, code, body)
		return
	}
	WriteJSON(w, http.StatusOK, v)
}

// WriteJSON answers an HTTP request with status and v as JSON, marked
// Cache-Control: no-store (a reply reflects an object's live state). A v that does
// not encode answers 500 {"error": "internal error"} instead.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// errorBody is the JSON of a failed reply.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}
