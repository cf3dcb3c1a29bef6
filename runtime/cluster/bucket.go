package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// bucket is a KV bucket whose reads that decide something go to the bucket stream's
// leader. KeyValue.Get may be answered by a follower that lags (KV buckets allow
// direct gets), so it can miss a write that was acknowledged before it was sent: a
// claim, a renewal, a tombstone. Writes are compare-and-set either way; reading from
// the leader keeps a node from acting on a stale view over and over.
type bucket struct {
	jetstream.KeyValue
	js   jetstream.JetStream
	name string
}

// kvEntry is a key's latest message in the bucket.
type kvEntry struct {
	value    []byte
	revision uint64
	deleted  bool // a delete or purge marker (a Delete, or the key's TTL ran out)
}

// latest returns key's latest entry as the stream leader has it; found is false
// when the key has no message at all. A read that goes unanswered is sent again
// (reread.go), within ctx or the request timeout.
func (b *bucket) latest(ctx context.Context, key string) (kvEntry, bool, error) {
	type result struct {
		e     kvEntry
		found bool
	}
	r, err := reread(ctx, b.js.Options().DefaultTimeout, func(ctx context.Context) (result, error) {
		e, found, err := b.latestOnce(ctx, key)
		return result{e, found}, err
	})
	return r.e, r.found, err
}

// latestOnce is one request of latest.
func (b *bucket) latestOnce(ctx context.Context, key string) (e kvEntry, found bool, err error) {
	m, found, err := leaderGet(ctx, b.js, "KV_"+b.name, map[string]any{"last_by_subj": "$KV." + b.name + "." + key})
	if err != nil || !found {
		if err != nil {
			err = fmt.Errorf("cluster: read %s/%s: %w", b.name, key, err)
		}
		return kvEntry{}, false, err
	}
	e = kvEntry{value: m.Data, revision: m.Seq}
	if len(m.Hdrs) > 0 {
		h, err := nats.DecodeHeadersMsg(m.Hdrs)
		if err != nil {
			return kvEntry{}, false, fmt.Errorf("cluster: read %s/%s: %w", b.name, key, err)
		}
		e.deleted = h.Get("KV-Operation") != "" || h.Get(jetstream.MarkerReasonHeader) != ""
	}
	return e, true, nil
}

// get returns key's live value and revision; found is false when the key is absent,
// deleted or expired.
func (b *bucket) get(ctx context.Context, key string) (value []byte, revision uint64, found bool, err error) {
	e, found, err := b.latest(ctx, key)
	if err != nil || !found || e.deleted {
		return nil, 0, false, err
	}
	return e.value, e.revision, true, nil
}

// create writes key only if it has no live value (absent, deleted or expired). It
// fails with jetstream.ErrKeyExists otherwise.
func (b *bucket) create(ctx context.Context, key string, value []byte) (uint64, error) {
	rev, err := b.Update(ctx, key, value, 0)
	if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return rev, err
	}
	e, found, err := b.latest(ctx, key)
	if err != nil {
		return 0, err
	}
	if found && !e.deleted {
		return 0, fmt.Errorf("%w: %s/%s", jetstream.ErrKeyExists, b.name, key)
	}
	rev, err = b.Update(ctx, key, value, e.revision)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return 0, fmt.Errorf("%w: %s/%s", jetstream.ErrKeyExists, b.name, key) // written meanwhile
	}
	return rev, err
}

// storedMsg is a stream's message as the stream's leader answers a get.
type storedMsg struct {
	Seq  uint64 `json:"seq"`
	Hdrs []byte `json:"hdrs"`
	Data []byte `json:"data"`
}

// leaderGet sends one message get (req: "last_by_subj", or "seq" with
// "next_by_subj") to stream's leader; found is false when no message matches. It
// needs nothing but that leader: no consumer (whose creation goes through the
// JetStream meta leader), no replica that may lag.
func leaderGet(ctx context.Context, js jetstream.JetStream, stream string, req map[string]any) (storedMsg, bool, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return storedMsg{}, false, err
	}
	msg, err := js.Conn().RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, body)
	if err != nil {
		return storedMsg{}, false, err
	}
	var resp struct {
		Message *storedMsg `json:"message"`
		Error   *struct {
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return storedMsg{}, false, err
	}
	switch {
	case resp.Error != nil && resp.Error.ErrCode == int(jetstream.JSErrCodeMessageNotFound):
		return storedMsg{}, false, nil
	case resp.Error != nil:
		return storedMsg{}, false, &jetstream.APIError{ErrorCode: jetstream.ErrorCode(resp.Error.ErrCode), Description: resp.Error.Description}
	case resp.Message == nil:
		return storedMsg{}, false, errors.New("empty answer")
	}
	return *resp.Message, true, nil
}
