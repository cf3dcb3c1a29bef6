package history

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warrenhq/warren/runtime/internal/dirlock"
	"github.com/warrenhq/warren/runtime/object"
)

// Errors of the package.
var (
	// ErrCorrupt means a history file is damaged or truncated.
	ErrCorrupt = fmt.Errorf("%w: history file", object.ErrCorrupt)
	// ErrBadBookmark means a bookmark is not one this package wrote for the object.
	ErrBadBookmark = fmt.Errorf("%w: bad bookmark", object.ErrInvalidArgument)
)

// Config configures a History. The zero value of every field but Dir is usable.
type Config struct {
	// Dir holds the history, one folder per object. Required; the runtime's data
	// directory's ".history" is the convention (its lock covers it).
	Dir string
	// Retention is how far back an object can be restored. Default DefaultRetention.
	// History is deleted a base at a time, so up to BaseInterval more is kept.
	Retention time.Duration
	// BaseInterval is how often an object that is written gets a new base snapshot
	// (a copy of its database). Default DefaultBaseInterval.
	BaseInterval time.Duration
	// CheckpointBytes is the size of an object's write-ahead log past which, after a
	// batch, its commits are archived and the log checkpointed. Default
	// DefaultCheckpointBytes.
	CheckpointBytes int64
	// SegmentBytes bounds one segment file; the next archive starts a new one.
	// Default DefaultSegmentBytes.
	SegmentBytes int64
	// SweepInterval is how often retention runs. Default DefaultSweepInterval;
	// negative: only when Sweep is called.
	SweepInterval time.Duration
	// Now is the clock of commit and base times. Default time.Now.
	Now func() time.Time
	// Logger receives what goes wrong off the request path. Default slog.Default().
	Logger *slog.Logger
}

// The defaults of Config's fields.
const (
	DefaultRetention       = 7 * 24 * time.Hour
	DefaultBaseInterval    = 24 * time.Hour
	DefaultCheckpointBytes = 4 << 20
	DefaultSegmentBytes    = 64 << 20
	DefaultSweepInterval   = time.Hour
)

// maxIdle bounds how many objects that are not open a History remembers the state
// of (forgetting one only costs reading its folder again).
const maxIdle = 1 << 14

// History is an object.History on the local disk: every committed batch of every
// object, from the log frames it archives when it checkpoints an object's database
// and periodic base snapshots. It is safe for concurrent use.
type History struct {
	cfg   Config
	mu    sync.Mutex
	objs  map[string]*objHist
	total atomic.Int64 // bytes on disk, as of the last sweep and the writes since
	lock  *os.File     // Dir kept to this process (package dirlock), until Close
	stop  chan struct{}
	done  chan struct{}
}

var _ object.History = (*History)(nil)

// New returns a History in cfg.Dir (created if needed) and starts its retention
// schedule; Close stops it. Dir is kept to one History at a time, across processes
// (a flock, as the runtime's data directory): another's fails with object.ErrLocked,
// before anything in it is read.
func New(cfg Config) (*History, error) {
	if cfg.Dir == "" {
		return nil, errors.New("history: Config.Dir is required")
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.BaseInterval <= 0 {
		cfg.BaseInterval = DefaultBaseInterval
	}
	if cfg.CheckpointBytes <= 0 {
		cfg.CheckpointBytes = DefaultCheckpointBytes
	}
	if cfg.SegmentBytes <= 0 {
		cfg.SegmentBytes = DefaultSegmentBytes
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	lock, err := dirlock.Lock(cfg.Dir)
	if errors.Is(err, dirlock.ErrHeld) {
		return nil, fmt.Errorf("%w: history %s: %v", object.ErrLocked, cfg.Dir, err)
	} else if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	h := &History{cfg: cfg, objs: map[string]*objHist{}, lock: lock, stop: make(chan struct{}), done: make(chan struct{})}
	if _, err := h.Sweep(); err != nil {
		dirlock.Unlock(lock)
		return nil, err
	}
	go h.schedule()
	return h, nil
}

// Close stops the retention schedule and releases Dir (after the runtime's Close).
func (h *History) Close() {
	select {
	case <-h.stop:
		<-h.done
	default:
		close(h.stop)
		<-h.done
		dirlock.Unlock(h.lock)
	}
}

func (h *History) schedule() {
	defer close(h.done)
	if h.cfg.SweepInterval < 0 {
		<-h.stop
		return
	}
	t := time.NewTicker(h.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			if _, err := h.Sweep(); err != nil {
				h.cfg.Logger.Error("history: retention", "err", err)
			}
		}
	}
}

// Bytes is the history's disk use, as of the last sweep and the writes since.
func (h *History) Bytes() int64 { return h.total.Load() }

// obj returns the state of object ns/id, locked; put unlocks it.
func (h *History) obj(ns string, id object.ID) *objHist { return h.objByHex(ns, id.String()) }

func (h *History) objByHex(ns, s string) *objHist {
	key := ns + "/" + s
	h.mu.Lock()
	o := h.objs[key]
	if o == nil {
		if len(h.objs) >= maxIdle {
			for k, c := range h.objs {
				if len(h.objs) < maxIdle {
					break
				}
				if c.refs == 0 {
					delete(h.objs, k)
				}
			}
		}
		o = &objHist{h: h, key: key, dir: filepath.Join(h.cfg.Dir, ns, s[:2], s)}
		h.objs[key] = o
	}
	o.refs++
	h.mu.Unlock()
	o.mu.Lock()
	return o
}

func (h *History) put(o *objHist) {
	o.mu.Unlock()
	h.mu.Lock()
	o.refs--
	h.mu.Unlock()
}

// Open implements object.History.
func (h *History) Open(ns string, id object.ID, path string, checkpoint func() (bool, error)) (object.ObjectHistory, error) {
	o := h.obj(ns, id)
	defer h.put(o)
	if err := o.openLocked(path, checkpoint); err != nil {
		o.markFreshLocked() // this activation goes on without history
		return nil, fmt.Errorf("history: open %s: %w", o.key, err)
	}
	h.mu.Lock()
	o.refs++ // the recorder's, until its Close
	h.mu.Unlock()
	return &recorder{h: h, o: o}, nil
}

// recorder is one activation's object.ObjectHistory.
type recorder struct {
	h *History
	o *objHist
}

func (r *recorder) Committed(at time.Time) {
	r.o.mu.Lock()
	defer r.o.mu.Unlock()
	if err := r.o.committedLocked(at); err != nil {
		r.h.cfg.Logger.Error("history: record a commit", "object", r.o.key, "err", err)
	}
}

func (r *recorder) Idle() {
	r.o.mu.Lock()
	defer r.o.mu.Unlock()
	if err := r.o.idleLocked(); err != nil {
		r.h.cfg.Logger.Error("history: archive", "object", r.o.key, "err", err)
	}
}

func (r *recorder) Close() {
	r.o.mu.Lock()
	if err := r.o.closeLocked(); err != nil {
		r.h.cfg.Logger.Error("history: archive on close", "object", r.o.key, "err", err)
	}
	r.h.put(r.o)
}

// BookmarkForTime implements object.History: the bookmark of the object's state at
// t, the last commit at or before t.
func (h *History) BookmarkForTime(ns string, id object.ID, path string, t time.Time) (string, error) {
	o := h.obj(ns, id)
	defer h.put(o)
	return o.bookmarkForTimeLocked(path, t.UnixNano())
}

// CurrentBookmark implements object.History: the bookmark of the object's last commit.
func (h *History) CurrentBookmark(ns string, id object.ID, path string) (string, error) {
	o := h.obj(ns, id)
	defer h.put(o)
	if err := o.catchUpLocked(path); err != nil {
		return "", err
	}
	if len(o.bases) == 0 {
		return "", o.noHistoryLocked()
	}
	seq, at := o.headLocked()
	return encodeBookmark(o.key, seq, at), nil
}

// Prepare implements object.History: it writes the object's database as it was at
// bookmark into the new file dst and returns the bookmark of its current state. The
// object must not be open.
func (h *History) Prepare(ns string, id object.ID, path, bookmark, dst string) (string, error) {
	o := h.obj(ns, id)
	defer h.put(o)
	return o.prepareLocked(path, bookmark, dst)
}

// Replaced implements object.History: the object's database at path was replaced
// by another file (a restore), or removed when none is there. The next state starts
// a new base.
func (h *History) Replaced(ns string, id object.ID, path string) error {
	o := h.obj(ns, id)
	defer h.put(o)
	return o.replacedLocked(path)
}

// Usage implements object.History: the bytes the object's history takes on disk.
func (h *History) Usage(ns string, id object.ID) (int64, error) {
	o := h.obj(ns, id)
	defer h.put(o)
	if err := o.loadLocked(); err != nil {
		return 0, err
	}
	return o.bytes, nil
}

// Verify reads every file of the object's history in full and checks that it is one
// unbroken sequence of commits from each base (checksums, sequence numbers, times).
func (h *History) Verify(ns string, id object.ID) error {
	o := h.obj(ns, id)
	defer h.put(o)
	return o.verifyLocked()
}

// Sweep deletes, in every object's history, what is older than the retention
// window (a base with the segments after it, once a later base is older than the
// window's start), and returns the history's disk use after it.
func (h *History) Sweep() (int64, error) {
	cutoff := h.cfg.Now().Add(-h.cfg.Retention).UnixNano()
	var total int64
	nss, err := os.ReadDir(h.cfg.Dir)
	if err != nil {
		return 0, fmt.Errorf("history: %w", err)
	}
	for _, ns := range nss {
		if !ns.IsDir() {
			continue
		}
		shards, err := os.ReadDir(filepath.Join(h.cfg.Dir, ns.Name()))
		if err != nil {
			return 0, fmt.Errorf("history: %w", err)
		}
		for _, sh := range shards {
			ids, err := os.ReadDir(filepath.Join(h.cfg.Dir, ns.Name(), sh.Name()))
			if err != nil {
				return 0, fmt.Errorf("history: %w", err)
			}
			for _, e := range ids {
				if !e.IsDir() || !isObjectDir(e.Name()) {
					continue
				}
				o := h.objByHex(ns.Name(), e.Name())
				n, err := o.sweepLocked(cutoff)
				h.put(o)
				if err != nil {
					h.cfg.Logger.Error("history: retention", "object", ns.Name()+"/"+e.Name(), "err", err)
				}
				total += n
			}
		}
	}
	h.total.Store(total)
	return total, nil
}

// isObjectDir reports whether name is an object's folder: 64 lowercase hex digits.
func isObjectDir(name string) bool {
	if len(name) != 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
