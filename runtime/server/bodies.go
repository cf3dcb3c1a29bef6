package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// Errors of a request body refused by the body budget (Config.MaxBodyBytes and
// MaxBodyBytesPerIP).
var (
	errBodyBudget     = errors.New("server: too many request bodies in flight; retry shortly")
	errBodyBudgetAddr = errors.New("server: too many request bodies in flight from this address; retry shortly")
)

// bodyBudget bounds the request body bytes the process holds at once (read, or
// reserved because a Content-Length announced them), in all and per client address.
type bodyBudget struct {
	max, maxPerAddr int64

	mu      sync.Mutex
	total   int64
	perAddr map[string]int64
}

func newBodyBudget(max, maxPerAddr int64) *bodyBudget {
	return &bodyBudget{max: max, maxPerAddr: maxPerAddr, perAddr: map[string]int64{}}
}

func (b *bodyBudget) take(addr string, n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.perAddr[addr]+n > b.maxPerAddr:
		return errBodyBudgetAddr
	case b.total+n > b.max:
		return errBodyBudget
	}
	b.total += n
	b.perAddr[addr] += n
	return nil
}

func (b *bodyBudget) give(addr string, n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total -= n
	if b.perAddr[addr] -= n; b.perAddr[addr] <= 0 {
		delete(b.perAddr, addr)
	}
}

// bodyChunk is how much a body of unknown length reserves at a time.
const bodyChunk = 32 << 10

// budgetedBody reads a request body within the budget: it never reads a byte it has
// not reserved. A Content-Length is reserved up front (up to object.MaxRequestBody+1);
// a body of unknown length reserves bodyChunk at a time.
type budgetedBody struct {
	io.ReadCloser
	b      *bodyBudget
	addr   string
	length int64 // Content-Length, or -1
	held   int64
	read   int64
	err    error

	// Set while the body is arriving (drain.go): Shutdown cuts it through rc.
	arriving *arrivingBodies
	rc       *http.ResponseController
	deadline time.Time
}

// reserveBody wraps r.Body in a budgetedBody and reserves its Content-Length. The
// caller gives the reservation back with release once the request is answered.
func (b *bodyBudget) reserveBody(r *http.Request) (*budgetedBody, error) {
	bb := &budgetedBody{ReadCloser: r.Body, b: b, addr: clientKey(r.RemoteAddr), length: r.ContentLength}
	if r.ContentLength > 0 {
		n := min(r.ContentLength, object.MaxRequestBody+1)
		if err := b.take(bb.addr, n); err != nil {
			return nil, err
		}
		bb.held = n
	}
	r.Body = bb
	return bb, nil
}

// release gives the body's reservation back and forgets it as arriving. It is called
// before the request's handler returns.
func (r *budgetedBody) release() {
	r.b.give(r.addr, r.held)
	if r.arriving != nil {
		r.arriving.done(r)
	}
}

func (r *budgetedBody) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.held == r.read && (r.length < 0 || r.read < r.length) {
		if err := r.b.take(r.addr, bodyChunk); err != nil {
			r.err = err
			return 0, err
		}
		r.held += bodyChunk
	}
	if room := r.held - r.read; room > 0 && int64(len(p)) > room {
		p = p[:room]
	}
	n, err := r.ReadCloser.Read(p)
	r.read += int64(n)
	if err != nil && r.arriving != nil {
		r.arriving.done(r) // at its end (or failed): no deadline to cut any more
	}
	return n, err
}

// readPartyBody reads an object request's body before its turn (bounded by
// object.MaxRequestBody, the read deadline and the budget) and puts it back as an
// in-memory body. It answers the request itself and reports false when the body
// cannot be had: 413 too large, 408 too slow, 429/503 over the budget, 400 cut off.
func readPartyBody(w http.ResponseWriter, r *http.Request) bool {
	body, ok := readPartyBytes(w, r)
	if ok && body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	return ok
}

// readPartyBytes is readPartyBody returning the body (nil for none), for a request
// that may be sent more than once (routing).
func readPartyBytes(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, true
	}
	if r.ContentLength > object.MaxRequestBody {
		http.Error(w, fmt.Sprintf("request body of %d bytes, at most %d", r.ContentLength, object.MaxRequestBody), http.StatusRequestEntityTooLarge)
		return nil, false
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(io.LimitReader(r.Body, object.MaxRequestBody+1))
	if err == nil && buf.Len() > object.MaxRequestBody {
		http.Error(w, fmt.Sprintf("request body over %d bytes", object.MaxRequestBody), http.StatusRequestEntityTooLarge)
		return nil, false
	}
	if err != nil {
		code, msg := bodyErrorStatus(err)
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		w.Header().Set("Connection", "close")
		http.Error(w, msg, code)
		return nil, false
	}
	return buf.Bytes(), true
}

// bodyErrorStatus maps a failed body read to a status and a message.
func bodyErrorStatus(err error) (int, string) {
	var ne net.Error
	switch {
	case errors.Is(err, errBodyBudgetAddr):
		return http.StatusTooManyRequests, err.Error()
	case errors.Is(err, errBodyBudget):
		return http.StatusServiceUnavailable, err.Error()
	case errors.As(err, &ne) && ne.Timeout():
		return http.StatusRequestTimeout, "request body not received in time"
	}
	return http.StatusBadRequest, "request body cut off: " + err.Error()
}
