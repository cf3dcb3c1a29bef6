package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Blobs in the object store hold what does not fit in a log message: snapshots and
// big batches. A blob is written before the record that points at it and never
// changed afterwards; the record pins its size and SHA-256, checked when it is read.

// putBlob stores r's content under name and returns a reference pinning it.
func (n *Node) putBlob(ctx context.Context, name string, r io.Reader) (blobRef, error) {
	h := sha256.New()
	counted := &countingReader{r: io.TeeReader(r, h)}
	if _, err := n.a.snaps.Put(ctx, jetstream.ObjectMeta{Name: name}, counted); err != nil {
		return blobRef{}, err
	}
	ref := blobRef{name: name, size: uint64(counted.n)}
	copy(ref.digest[:], h.Sum(nil))
	return ref, nil
}

// A blob is read with direct gets, one request per message: its metadata (the
// object store's GetInfo), then its chunks one by one, each request sent again while
// it goes unanswered (reread.go). The object store's Get would create a consumer
// for the chunks, and a consumer is created by the JetStream meta leader: with the
// meta leader's server killed, a restore waited for the meta group's election (4 to
// 9 s) and then for the Get to be sent again, after every other stream it needed
// had a leader (issue 19: the slowest failovers were those kills). A direct get is
// answered by any server holding a replica of the snapshot stream, leader or not,
// even while that stream elects a leader: a blob is written once, before any record
// points at it, and never changed, and the content is checked against the record's
// size and digest, so a replica that does not have it (yet) can only make the read
// fail (not found, sent again), never make it wrong.

// blobStall is how long a blob's read waits for an answer to one of its requests
// before the attempt is given up on and the read started again. After every
// blobStallDoubling attempts without an answer the wait doubles (at most
// blobStallMax), so that a cluster slow to answer under load is waited for rather
// than asked again and again.
const (
	blobStall         = 2 * time.Second
	blobStallDoubling = 4
	blobStallMax      = 16 * time.Second
)

// errBlobStalled ends an attempt of fetchBlob whose next request was not answered
// within its wait.
var errBlobStalled = errors.New("no answer came")

// fetchBlob reads the blob ref names and checks it against ref: ErrCorrupt when it
// differs. Each attempt calls start for the writer it writes to (the caller empties
// it: a file truncated, a buffer reset), so a read started again never mixes its
// chunks with an earlier attempt's. Attempts that fail without corruption are made
// again until ctx ends.
func (n *Node) fetchBlob(ctx context.Context, ref blobRef, start func() (io.Writer, error)) error {
	for attempt := 0; ; attempt++ {
		if err := backoff(ctx, attempt); err != nil { // after one refused at once
			return fmt.Errorf("cluster: blob %s: %w", ref.name, err)
		}
		w, err := start()
		if err != nil {
			return err
		}
		stall := min(blobStall<<(attempt/blobStallDoubling), blobStallMax)
		err = n.fetchBlobOnce(ctx, ref, w, stall)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrCorrupt):
			return err
		case errors.Is(err, jetstream.ErrDigestMismatch), errors.Is(err, jetstream.ErrBadObjectMeta):
			return fmt.Errorf("%w: blob %s: %v", ErrCorrupt, ref.name, err)
		case ctx.Err() != nil:
			return fmt.Errorf("cluster: blob %s: %w (%v)", ref.name, err, ctx.Err())
		}
		n.cfg.Logger.Info("cluster: blob read sent again", "blob", ref.name, "attempt", attempt+1, "err", err)
	}
}

// fetchBlobOnce is one attempt of fetchBlob: the blob's metadata, then its chunks
// in order, each request given up on (the attempt with it) when unanswered for
// stall.
func (n *Node) fetchBlobOnce(ctx context.Context, ref blobRef, w io.Writer, stall time.Duration) error {
	info, err := stallRead(ctx, stall, func(ctx context.Context) (*jetstream.ObjectInfo, error) {
		return n.a.snaps.GetInfo(ctx, ref.name)
	})
	if err != nil {
		return err
	}
	if info.Deleted {
		return jetstream.ErrObjectNotFound
	}
	stream, subject := "OBJ_"+snapBucket, "$O."+snapBucket+".C."+info.NUID
	type chunk struct {
		m     storedMsg
		found bool
	}
	h := sha256.New()
	var size uint64
	seq := uint64(1)
	for i := 0; i < int(info.Chunks); i++ {
		c, err := stallRead(ctx, stall, func(ctx context.Context) (chunk, error) {
			m, found, err := directGet(ctx, n.js, stream, seq, subject)
			return chunk{m, found}, err
		})
		if err != nil {
			return err
		}
		if !c.found {
			return fmt.Errorf("blob %s: chunk %d of %d not found", ref.name, i+1, info.Chunks)
		}
		if _, err := w.Write(c.m.Data); err != nil {
			return err
		}
		h.Write(c.m.Data)
		size += uint64(len(c.m.Data))
		seq = c.m.Seq + 1
	}
	if size != ref.size || !bytes.Equal(h.Sum(nil), ref.digest[:]) {
		return fmt.Errorf("%w: blob %s has %d bytes and another digest than its record's (%d bytes)", ErrCorrupt, ref.name, size, ref.size)
	}
	return nil
}

// stallRead is reread bounded by stall: errBlobStalled when no answer came within it.
func stallRead[T any](ctx context.Context, stall time.Duration, read func(context.Context) (T, error)) (T, error) {
	rctx, cancel := context.WithTimeout(ctx, stall)
	defer cancel()
	v, err := reread(rctx, stall, read)
	if err != nil && ctx.Err() == nil && rctx.Err() != nil {
		return v, fmt.Errorf("%w: %v", errBlobStalled, err)
	}
	return v, err
}

// directGet reads the first message on subject at or after seq in stream, from any
// server holding a replica (a direct get: the stream allows them, as the object
// store's does); found is false when there is none.
func directGet(ctx context.Context, js jetstream.JetStream, stream string, seq uint64, subject string) (storedMsg, bool, error) {
	body, err := json.Marshal(map[string]any{"seq": seq, "next_by_subj": subject})
	if err != nil {
		return storedMsg{}, false, err
	}
	msg, err := js.Conn().RequestWithContext(ctx, "$JS.API.DIRECT.GET."+stream, body)
	if err != nil {
		return storedMsg{}, false, err
	}
	switch status := msg.Header.Get("Status"); status {
	case "":
	case "404":
		return storedMsg{}, false, nil
	default:
		return storedMsg{}, false, fmt.Errorf("direct get from %s: status %s %s", stream, status, msg.Header.Get("Description"))
	}
	got, err := strconv.ParseUint(msg.Header.Get("Nats-Sequence"), 10, 64)
	if err != nil || got < seq {
		return storedMsg{}, false, fmt.Errorf("direct get from %s: bad sequence %q", stream, msg.Header.Get("Nats-Sequence"))
	}
	return storedMsg{Seq: got, Data: msg.Data}, true, nil
}

// deleteBlobs removes blobs no record points at any more. Failures are logged: a
// blob left behind is garbage, not a danger.
func (n *Node) deleteBlobs(names ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
	defer cancel()
	for _, name := range names {
		if err := n.a.snaps.Delete(ctx, name); err != nil {
			n.cfg.Logger.Warn("cluster: delete blob", "blob", name, "err", err)
		}
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}
