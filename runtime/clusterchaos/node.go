package clusterchaos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// Files a node instrumented by [Instrument] writes in its data directory.
const (
	// NATSURLFile holds the client URL of the node's embedded NATS server, written
	// anew at every start (the port is picked at random).
	NATSURLFile = "chaos-nats-url"
	// ServeLogFile gets one line per batch the node committed (outputs released):
	// "<object key> <start> <end>", the times in Unix nanoseconds, start taken before
	// the cluster's commit (and its lease check) began, end once it returned.
	ServeLogFile = "chaos-served"
)

// ObjectKey is the cluster's key of an object (the subject of its log ends with it):
// hex SHA-256 of namespace, NUL, the ID's string.
func ObjectKey(namespace, id string) string {
	h := sha256.Sum256([]byte(namespace + "\x00" + id))
	return hex.EncodeToString(h[:])
}

// Instrument wraps a node's cluster seam (a test build's node process): the node
// writes its NATS client URL to dir/[NATSURLFile] and a line to dir/[ServeLogFile]
// for every batch it committed, so the harness can read the object logs with
// nats.go and tell which node served which object when.
func Instrument(c server.Cluster, dir string) server.Cluster {
	return instrumented{inner: c, dir: dir}
}

type instrumented struct {
	inner server.Cluster
	dir   string
}

func (c instrumented) Join(ctx context.Context, f server.ClusterFlags, cfg *object.Config, log *slog.Logger) (*server.Routing, func(), error) {
	h := &urlCapture{Handler: log.Handler(), path: filepath.Join(c.dir, NATSURLFile)}
	r, leave, err := c.inner.Join(ctx, f, cfg, slog.New(h))
	if err != nil {
		return nil, nil, err
	}
	sl, err := os.OpenFile(filepath.Join(c.dir, ServeLogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		leave()
		return nil, nil, err
	}
	cfg.Committer = &servedCommitter{inner: cfg.Committer, log: sl}
	return r, func() { leave(); sl.Close() }, nil
}

// urlCapture passes records on to the node's handler and writes the "client"
// attribute of clustermode's "cluster: NATS server" record to path.
type urlCapture struct {
	slog.Handler
	path string
}

func (h *urlCapture) Enabled(ctx context.Context, l slog.Level) bool {
	return l == slog.LevelInfo || h.Handler.Enabled(ctx, l)
}

func (h *urlCapture) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "cluster: NATS server" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "client" {
				os.WriteFile(h.path, []byte(a.Value.String()), 0o644)
				return false
			}
			return true
		})
	}
	if !h.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h *urlCapture) WithAttrs(as []slog.Attr) slog.Handler {
	return &urlCapture{Handler: h.Handler.WithAttrs(as), path: h.path}
}

func (h *urlCapture) WithGroup(g string) slog.Handler {
	return &urlCapture{Handler: h.Handler.WithGroup(g), path: h.path}
}

// servedCommitter records every batch its inner committer committed.
type servedCommitter struct {
	inner object.Committer
	mu    sync.Mutex
	log   *os.File
}

func (c *servedCommitter) Commit(ctx context.Context, namespace string, id object.ID, turns int, commit func() error) error {
	start := time.Now()
	err := c.inner.Commit(ctx, namespace, id, turns, commit)
	if err == nil {
		line := fmt.Sprintf("%s %d %d\n", ObjectKey(namespace, id.String()), start.UnixNano(), time.Now().UnixNano())
		c.mu.Lock()
		c.log.WriteString(line) // one write: a SIGKILL keeps it (page cache)
		c.mu.Unlock()
	}
	return err
}

// Served is one batch a node committed: its object's key and when ([ServeLogFile]).
type Served struct {
	Node       string
	Key        string
	Start, End time.Time
}

// ReadServed reads a node's [ServeLogFile] in dir; a torn last line is left out.
func ReadServed(node, dir string) ([]Served, error) {
	b, err := os.ReadFile(filepath.Join(dir, ServeLogFile))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Served
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		s, err1 := strconv.ParseInt(f[1], 10, 64)
		e, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, Served{Node: node, Key: f[0], Start: time.Unix(0, s), End: time.Unix(0, e)})
	}
	return out, nil
}

// NATSURL reads the NATS client URL a node wrote in dir ([NATSURLFile]).
func NATSURL(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, NATSURLFile))
	return strings.TrimSpace(string(b)), err
}
