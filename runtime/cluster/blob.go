package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
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

// A blob is read with one object-store Get: a read of its metadata (the last
// message on its meta subject), a consumer created on its chunks, then the chunks
// pushed to this node. Any of these can be lost with the server that was serving
// it (killed), or dropped by a stream whose leader died until its followers elect
// another one (see reread.go); nothing sends it again, so one lost Get held a
// restore, and the failover behind it, until the activation's deadline (30 s by
// default). fetchBlob therefore sends the Get again, from the start, when no chunk
// came for blobStall: a read changes nothing, and the content is checked against
// the record's size and digest, so an attempt that was given up on costs nothing.

// blobStall is how long a blob's read waits for its next chunk (the first one
// included: the Get's metadata read and consumer create come before it) before it
// is given up on and the Get sent again. After every blobStallDoubling attempts
// without an answer the wait doubles (at most blobStallMax), so that a cluster
// slow to answer under load is waited for rather than asked again and again.
const (
	blobStall         = 2 * time.Second
	blobStallDoubling = 4
	blobStallMax      = 16 * time.Second
)

// errBlobStalled ends an attempt of fetchBlob whose next chunk did not come within
// its wait.
var errBlobStalled = errors.New("no chunk came")

// fetchBlob reads the blob ref names and checks it against ref: ErrCorrupt when it
// differs (or the object store finds it differs from its own digest). Each attempt
// calls start for the writer it writes to (the caller empties it: a file truncated,
// a buffer reset), so a Get sent again never mixes its chunks with an earlier
// attempt's; only the attempt's own goroutine writes to it, and only until the
// attempt ends. Attempts that fail without corruption are made again until ctx ends.
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

// fetchBlobOnce is one attempt of fetchBlob: one Get, given up on when no chunk came
// for stall.
func (n *Node) fetchBlobOnce(ctx context.Context, ref blobRef, w io.Writer, stall time.Duration) error {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	defer pr.Close() // the Get's goroutine stops at its next write
	go func() {
		res, err := n.a.snaps.Get(actx, ref.name)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		// A Read waiting for a chunk that never comes returns at ctx's deadline (the
		// activation's); the chunks' subscription ends at its next delivery.
		_, err = io.Copy(pw, res)
		res.Close()
		pw.CloseWithError(err) // nil: EOF
	}()
	timer := time.AfterFunc(stall, func() { pr.CloseWithError(errBlobStalled) })
	defer timer.Stop()
	stop := context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
	defer stop()
	h := sha256.New()
	size, err := io.Copy(&progressWriter{w: io.MultiWriter(w, h), timer: timer, stall: stall}, pr)
	if err != nil {
		return err
	}
	if uint64(size) != ref.size || !bytes.Equal(h.Sum(nil), ref.digest[:]) {
		return fmt.Errorf("%w: blob %s has %d bytes and another digest than its record's (%d bytes)", ErrCorrupt, ref.name, size, ref.size)
	}
	return nil
}

// progressWriter writes to w and restarts timer, stall from now, after every write:
// the wait for the next chunk; the write itself (a slow disk) is not counted.
type progressWriter struct {
	w     io.Writer
	timer *time.Timer
	stall time.Duration
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if !p.timer.Stop() {
		return 0, errBlobStalled // it fired: the pipe is closed
	}
	k, err := p.w.Write(b)
	p.timer.Reset(p.stall)
	return k, err
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
