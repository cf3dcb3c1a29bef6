package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The fenced object log: one subject per object in its shard's stream. Guarantees:
//
//   - Every append names the sequence of the record it follows on the subject
//     (Nats-Expected-Last-Subject-Sequence); the stream leader rejects it otherwise,
//     inside its Raft group, so appends by two writers can never interleave unseen.
//   - An owner's first record is its EPOCH record, appended after the tail it read:
//     from then on every append of an earlier owner fails with ErrFenced, whatever
//     the clocks, pauses or partitions.
//   - Epochs never decrease along the log: an owner that finds a newer epoch at the
//     tail does not fence (it has been replaced).
//   - An append is acknowledged after the stream's replicas stored it (R3: a quorum,
//     fsynced on servers running with sync_interval: always).

// objectLog is one object's log.
type objectLog struct {
	js      jetstream.JetStream
	stream  jetstream.Stream
	subject string
}

// tail returns the sequence and the writer's epoch of the log's last record; (0, 0)
// for an empty log.
func (l objectLog) tail(ctx context.Context) (seq, epoch uint64, err error) {
	seq, r, err := l.last(ctx)
	return seq, r.epoch, err
}

// last returns the log's last record, decoded, and its sequence (0 for an empty
// log). It reads from the stream leader (the log streams do not allow direct gets
// from followers); one that goes unanswered is sent again (reread.go).
func (l objectLog) last(ctx context.Context) (uint64, record, error) {
	m, err := reread(ctx, l.js.Options().DefaultTimeout, func(ctx context.Context) (*jetstream.RawStreamMsg, error) {
		return l.stream.GetLastMsgForSubject(ctx, l.subject)
	})
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, record{}, nil
	}
	if err != nil {
		return 0, record{}, fmt.Errorf("cluster: log tail %s: %w", l.subject, err)
	}
	r, err := decodeRecord(m.Data)
	if err != nil {
		return 0, record{}, fmt.Errorf("cluster: log tail %s (seq %d): %w", l.subject, m.Sequence, err)
	}
	return m.Sequence, r, nil
}

// next returns the log's first record at or after sequence from, from the stream
// leader; jetstream.ErrMsgNotFound when there is none.
func (l objectLog) next(ctx context.Context, from uint64) (*jetstream.RawStreamMsg, error) {
	m, err := reread(ctx, l.js.Options().DefaultTimeout, func(ctx context.Context) (*jetstream.RawStreamMsg, error) {
		return l.stream.GetMsg(ctx, from, jetstream.WithGetMsgSubject(l.subject))
	})
	if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		err = fmt.Errorf("cluster: read %s from %d: %w", l.subject, from, err)
	}
	return m, err
}

// start returns the sequence a restore of the state after the record r at seq
// starts from (record.start), 0 when the log holds no database up to it. For a
// version 1 record it reads the log from its start for its first record that is
// not an EPOCH record (such a log was rolled up at its last snapshot: its first
// database record is that snapshot, or the first commit's whole image).
func (l objectLog) start(ctx context.Context, seq uint64, r record) (uint64, error) {
	if s, ok := r.start(seq); ok {
		return s, nil
	}
	found := uint64(0)
	errStop := errors.New("stop")
	err := l.replay(ctx, 1, seq, func(s uint64, data []byte) error {
		if len(data) >= recordHeaderSize && data[1] != kindEpoch {
			found = s
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return 0, err
	}
	return found, nil
}

// append adds rec to the log if its last record is still at sequence after (0: the
// log must be empty), and returns the new record's sequence. rollup makes the
// record replace every earlier one on the subject. It returns ErrFenced when the log
// moved on (another writer appended), ErrIndeterminate when the outcome is unknown.
func (l objectLog) append(ctx context.Context, rec []byte, after uint64, rollup bool) (uint64, error) {
	msg := &nats.Msg{Subject: l.subject, Data: rec}
	if rollup {
		msg.Header = nats.Header{jetstream.MsgRollup: []string{jetstream.MsgRollupSubject}}
	}
	opts := []jetstream.PublishOpt{jetstream.WithExpectStream(l.stream.CachedInfo().Config.Name)}
	if !unfenced {
		opts = append(opts, jetstream.WithExpectLastSequencePerSubject(after))
	}
	ack, err := l.js.PublishMsg(ctx, msg, opts...)
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		return ack.Sequence, nil
	case isWrongLastSequence(err):
		return 0, fmt.Errorf("%w (%s after %d: %v)", ErrFenced, l.subject, after, err)
	case errors.As(err, &apiErr), errors.Is(err, nats.ErrNoResponders):
		return 0, fmt.Errorf("cluster: append %s: %w", l.subject, err) // refused: nothing stored
	default:
		return 0, fmt.Errorf("%w: %s: %v", ErrIndeterminate, l.subject, err)
	}
}

// appendRetrying appends rec as append does (never a rollup), and sends it again
// when it goes unanswered: a stream whose leader died drops every append until its
// followers elect another leader, and a commit sent then waited out its whole
// timeout (10 s) while the election took 2-5 s (a failover of 11.6 s, issue 19).
// Every copy is the same record on the same condition (the last record at after),
// so at most one of them lands; a copy refused for a wrong last sequence after an
// unanswered one may have lost to that one, so the record after `after` decides:
// this record (appended) or another writer's (ErrFenced). Without a deadline in ctx
// the whole is bounded by the request timeout, as one append was.
func (l objectLog) appendRetrying(ctx context.Context, rec []byte, after uint64) (uint64, error) {
	if unfenced {
		return l.append(ctx, rec, after, false)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.js.Options().DefaultTimeout)
		defer cancel()
	}
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, writeWithin(attempt))
		seq, err := l.append(actx, rec, after, false)
		cancel()
		switch {
		case err == nil:
			return seq, nil
		case errors.Is(err, ErrFenced) && attempt > 0:
			return l.landed(ctx, rec, after, err)
		case (errors.Is(err, ErrIndeterminate) || unanswered(err)) && ctx.Err() == nil:
			continue
		case attempt > 0 && !errors.Is(err, ErrIndeterminate):
			// refused now, but an earlier copy may have landed
			return 0, fmt.Errorf("%w: %s: an earlier copy went unanswered: %v", ErrIndeterminate, l.subject, err)
		}
		return 0, err
	}
}

// landed returns the sequence of rec if it is the record after `after` on the
// subject, else refused (ErrFenced: another writer's record is there).
func (l objectLog) landed(ctx context.Context, rec []byte, after uint64, refused error) (uint64, error) {
	m, err := l.next(ctx, after+1)
	switch {
	case err == nil && bytes.Equal(m.Data, rec):
		return m.Sequence, nil
	case err == nil:
		return 0, refused
	}
	return 0, fmt.Errorf("%w: %s: an earlier copy went unanswered and the log cannot be read: %v", ErrIndeterminate, l.subject, err)
}

// isWrongLastSequence reports whether err is JetStream's answer to an append whose
// expected last sequence did not match (10071, or 10164 on replicated streams).
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// replay calls fn for every record of the log in order, from the first at or after
// sequence from up to and including the record at sequence upto (which the caller
// knows is there: it appended it or read it as the tail). It does nothing for upto
// 0. Each record is read from the stream leader, one request each (a consumer may be
// placed on a replica that lags, and would show records a purge already removed):
// snapshots bound how many a restore reads.
func (l objectLog) replay(ctx context.Context, from, upto uint64, fn func(seq uint64, data []byte) error) error {
	for next := max(from, 1); next <= upto; {
		m, err := reread(ctx, l.js.Options().DefaultTimeout, func(ctx context.Context) (*jetstream.RawStreamMsg, error) {
			return l.stream.GetMsg(ctx, next, jetstream.WithGetMsgSubject(l.subject))
		})
		if err != nil {
			return fmt.Errorf("cluster: replay %s from %d: %w", l.subject, next, err)
		}
		if m.Sequence > upto {
			return fmt.Errorf("cluster: replay %s: record %d is past %d, which was not seen", l.subject, m.Sequence, upto)
		}
		if err := fn(m.Sequence, m.Data); err != nil {
			return err
		}
		next = m.Sequence + 1
	}
	return nil
}

// hasDatabase reports whether the log holds a database: a record other than EPOCH
// records (which an owner appends before its first commit).
func (l objectLog) hasDatabase(ctx context.Context) (bool, error) {
	seq, r, err := l.last(ctx)
	if err != nil || seq == 0 {
		return false, err
	}
	start, err := l.start(ctx, seq, r)
	return start != 0, err
}
