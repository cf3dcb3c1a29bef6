package object

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Error is an application error: a request the app refuses for a reason of its own
// (no such document, a title too long, a name taken). A method or handler returns it
// to tell the caller what went wrong without failing the turn: unlike any other error,
// an *Error (returned as is or wrapped) leaves the turn's writes to commit and the
// instance in place, does not count as a failed turn, and retires an alarm or schedule
// occurrence as a success would. Set Rollback to roll the turn back and reset the
// instance as for any other error; the caller still receives the *Error.
//
// Only Code, Message and Status cross a call: the caller receives an equal *Error
// (not the same value, and no wrapped cause), as it would from another process, and
// errors.Is matches two Errors by Code. HTTPStatus maps it to Status (400 if zero)
// and Message, which must therefore be safe to show a client.
//
// Plain Go errors keep their meaning: something went wrong, the turn is rolled back
// and the instance rebuilt from storage.
type Error struct {
	Code     string `json:"code"`             // machine-readable, such as "not_found"
	Message  string `json:"message"`          // for people; shown to clients
	Status   int    `json:"status,omitempty"` // the HTTP status; 0 is 400
	Rollback bool   `json:"-"`                // roll the turn back and reset the instance
}

// NewError returns an application error with code and message.
func NewError(code, message string) *Error { return &Error{Code: code, Message: message} }

// Errorf returns an application error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithStatus returns a copy of e with HTTP status s.
func (e *Error) WithStatus(s int) *Error { c := *e; c.Status = s; return &c }

// WithRollback returns a copy of e that rolls its turn back and resets the instance.
func (e *Error) WithRollback() *Error { c := *e; c.Rollback = true; return &c }

func (e *Error) Error() string {
	if e.Code == "" {
		return e.Message
	}
	return e.Code + ": " + e.Message
}

// Is reports whether target is an *Error with the same Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// AsError returns the application error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var ae *Error
	ok := errors.As(err, &ae)
	return ae, ok
}

// keepsTurn reports whether a turn that returned err commits: it succeeded, or it
// returned an application error that did not ask for a rollback.
func keepsTurn(err error) bool {
	if err == nil {
		return true
	}
	ae, ok := AsError(err)
	return ok && !ae.Rollback
}

// crossing returns err as it reaches a caller: an application error in its chain as
// an equal *Error decoded from its JSON form (what would cross processes), any other
// error as is.
func crossing(err error) error {
	ae, ok := AsError(err)
	if !ok {
		return err
	}
	b, merr := json.Marshal(ae)
	if merr != nil {
		return err
	}
	out := new(Error)
	if json.Unmarshal(b, out) != nil {
		return err
	}
	return out
}
