package object

import (
	"context"
	"errors"
	"net/http"
)

// HTTPStatus maps an error from a call to an HTTP status and a message safe to show a
// client. It is the one place where runtime errors become HTTP statuses.
func HTTPStatus(err error) (int, string) {
	switch {
	case err == nil:
		return http.StatusOK, ""
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
