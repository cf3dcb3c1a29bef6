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
	req, err := json.Marshal(map[string]string{"last_by_subj": "$KV." + b.name + "." + key})
	if err != nil {
		return kvEntry{}, false, err
	}
	msg, err := b.js.Conn().RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET.KV_"+b.name, req)
	if err != nil {
		return kvEntry{}, false, fmt.Errorf("cluster: read %s/%s: %w", b.name, key, err)
	}
	var resp struct {
		Message *struct {
			Seq  uint64 `json:"seq"`
			Hdrs []byte `json:"hdrs"`
			Data []byte `json:"data"`
		} `json:"message"`
		Error *struct {
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return kvEntry{}, false, fmt.Errorf("cluster: read %s/%s: %w", b.name, key, err)
	}
	switch {
	case resp.Error != nil && resp.Error.ErrCode == int(jetstream.JSErrCodeMessageNotFound):
		return kvEntry{}, false, nil
	case resp.Error != nil:
		return kvEntry{}, false, fmt.Errorf("cluster: read %s/%s: %w", b.name, key,
			&jetstream.APIError{ErrorCode: jetstream.ErrorCode(resp.Error.ErrCode), Description: resp.Error.Description})
	case resp.Message == nil:
		return kvEntry{}, false, fmt.Errorf("cluster: read %s/%s: empty answer", b.name, key)
	}
	e = kvEntry{value: resp.Message.Data, revision: resp.Message.Seq}
	if len(resp.Message.Hdrs) > 0 {
		h, err := nats.DecodeHeadersMsg(resp.Message.Hdrs)
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
