package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"

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

// fetchBlob writes the blob's content to w and checks it against ref: ErrCorrupt
// when it differs.
func (n *Node) fetchBlob(ctx context.Context, ref blobRef, w io.Writer) error {
	res, err := n.a.snaps.Get(ctx, ref.name)
	if err != nil {
		return fmt.Errorf("cluster: blob %s: %w", ref.name, err)
	}
	defer res.Close()
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(w, h), res)
	if err != nil {
		return fmt.Errorf("cluster: blob %s: %w", ref.name, err)
	}
	if uint64(size) != ref.size || !bytes.Equal(h.Sum(nil), ref.digest[:]) {
		return fmt.Errorf("%w: blob %s has %d bytes and another digest than its record's (%d bytes)", ErrCorrupt, ref.name, size, ref.size)
	}
	return nil
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
