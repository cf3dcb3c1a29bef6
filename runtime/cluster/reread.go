package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Reads on the paths that decide where an object is served (Locate, a claim, a
// fence, a restore) are sent again while they go unanswered, instead of waiting out
// one long timeout. The stream of a KV bucket or an object log whose leader died
// (its server killed) drops every request sent to it until its followers notice, 4
// to 9 s later (the Raft election timeout), and elect a new leader in well under a
// second: a read sent in that window never gets an answer, so one request with the
// request timeout (10 s by default) held its caller up to 10 s past the election,
// and an activation (three times that) up to 30 s. A read changes nothing, so it is
// safe to send again; the earlier copies are not cancelled (under load an answer can
// take seconds), the first answer wins.

// rereadEvery is how long a read waits for an answer before another copy is sent;
// rereadCopies bounds the copies in flight at once, and each copy waits for its answer
// at most rereadCopies × rereadEvery (8 s: under load an answer can take seconds), so
// that copies lost in a stream without a leader never stop new ones from going out.
// An election ends at a random moment: a caller waiting on a read (every Locate and
// claim behind a stream whose leader was killed) gets its answer within rereadEvery
// of the new leader; it was up to a second (issue 19: failovers are the elections
// plus what comes after them).
const (
	rereadEvery  = 250 * time.Millisecond
	rereadCopies = 32
)

// jsClusterNotAvailable is JetStream's answer to a request for a stream whose group
// knows it has no leader (an election is under way).
const jsClusterNotAvailable = 10008

// reread returns the first answer of read (an error other than "no answer" is an
// answer), sending a copy every rereadEvery while none came, until ctx ends; without
// a deadline in ctx, timeout bounds the whole (the one request it replaces had that
// timeout).
func reread[T any](ctx context.Context, timeout time.Duration, read func(context.Context) (T, error)) (T, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // the copies still in flight end
	type result struct {
		v   T
		err error
	}
	results := make(chan result, rereadCopies) // never blocks: at most rereadCopies unread
	inFlight := 0
	send := func() {
		inFlight++
		go func() {
			cctx, cancel := context.WithTimeout(ctx, rereadCopies*rereadEvery)
			defer cancel()
			v, err := read(cctx)
			results <- result{v, err}
		}()
	}
	send()
	tick := time.NewTicker(rereadEvery)
	defer tick.Stop()
	var last error
	for {
		select {
		case r := <-results:
			inFlight--
			if r.err == nil || !unanswered(r.err) {
				return r.v, r.err
			}
			last = r.err // refused at once (no leader now): the next tick sends again
		case <-tick.C:
			if inFlight < rereadCopies {
				send()
			}
		case <-ctx.Done():
			var zero T
			if last == nil {
				last = ctx.Err()
			}
			return zero, fmt.Errorf("%w (%v)", last, ctx.Err())
		}
	}
}

// unanswered reports whether err means the request got no answer from a stream
// leader: a timeout, no responders, or JetStream saying the stream has no leader now.
func unanswered(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.As(err, &apiErr) && apiErr.ErrorCode == jsClusterNotAvailable
}
