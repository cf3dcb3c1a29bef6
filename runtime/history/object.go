package history

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warrenhq/warren/runtime/internal/durable"
	"github.com/warrenhq/warren/runtime/internal/walfile"
	"github.com/warrenhq/warren/runtime/object"
)

// An object's history folder holds base-<seq>.db files and seg-<first seq>.log files
// (seq in 16 hex digits) and the pending file. A base and the segments after it, up
// to the next base, are a group: the base is the database after commit seq, the
// segments hold commits seq+1, seq+2, ... in order. Commit N's state is the latest
// base at or before N with the records after it up to N applied, page by page.

// fileInfo is one base or segment: its (first) commit and that commit's time.
type fileInfo struct {
	seq  uint64
	time int64
	name string
	size int64
}

// objHist is what a History knows of one object. Its fields are guarded by mu
// (History.obj locks it).
type objHist struct {
	mu   sync.Mutex
	h    *History
	key  string // namespace/id, what bookmarks are checked against
	dir  string
	refs int // guarded by History.mu

	loaded bool
	bases  []fileInfo // by seq
	segs   []fileInfo // by first seq
	bytes  int64      // on disk, without the pending file
	last   record     // head of the last commit archived (or of the last base)
	// fresh: the object's database is not the continuation of the history (there
	// is none yet, or its file was replaced or removed): the next open takes a base.
	fresh   bool
	damaged []string // files left out, their headers unreadable

	// while the object is open (between openLocked and closeLocked):
	open       bool
	db         string // database path
	checkpoint func() (bool, error)
	cur        *os.File // the segment archives append to; nil: the next starts one
	curSize    int64
	pend       *os.File     // the pending file, open for appending
	wal        *os.File     // the log, open for reading (once it exists)
	readBuf    []byte       // reused by readCommitLocked
	pending    []pendingRec // commits in the log not archived yet
	cursor     walfile.Cursor
	archived   walfile.Cursor // the log's cursor past the last commit archived (zero: unknown), where the next archive reads from
	flight     chan struct{}  // an archive in flight (archive.go), closed when it ends
	bulkDone   bool           // an archive in flight ended: the next idle archives the tail and checkpoints
}

func (o *objHist) path(name string) string { return filepath.Join(o.dir, name) }

func fileName(prefix string, seq uint64, ext string) string {
	return fmt.Sprintf("%s-%016x.%s", prefix, seq, ext)
}

func parseFileName(name, prefix, ext string) (uint64, bool) {
	s, ok := strings.CutPrefix(name, prefix+"-")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "."+ext)
	if !ok || len(s) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 16, 64)
	return n, err == nil
}

// loadLocked reads the folder once: the bases' and segments' headers, and the last
// segment's records (heads only). A last segment cut short by a crash during an
// archive is truncated after its last whole record (the log still holds what was
// cut); one damaged otherwise is cut there too, and the next open starts a new base.
func (o *objHist) loadLocked() error {
	if o.loaded {
		return nil
	}
	ents, err := os.ReadDir(o.dir)
	if errors.Is(err, fs.ErrNotExist) {
		o.loaded, o.fresh = true, true
		return nil
	}
	if err != nil {
		return err
	}
	o.bases, o.segs, o.bytes, o.damaged = nil, nil, 0, nil
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			return err
		}
		name := e.Name()
		o.bytes += fi.Size()
		if seq, ok := parseFileName(name, "base", "db"); ok {
			bh, err := readBaseHeader(o.path(name))
			if err == nil && bh.seq != seq {
				err = fmt.Errorf("%w: %s holds commit %d", ErrCorrupt, name, bh.seq)
			}
			if err != nil {
				o.damagedLocked(name, err)
				continue
			}
			o.bases = append(o.bases, fileInfo{seq: seq, time: bh.time, name: name, size: fi.Size()})
		} else if seq, ok := parseFileName(name, "seg", "log"); ok {
			sh, err := readSegHeader(o.path(name))
			if err == nil && sh.firstSeq != seq {
				err = fmt.Errorf("%w: %s starts at commit %d", ErrCorrupt, name, sh.firstSeq)
			}
			if err != nil {
				o.damagedLocked(name, err)
				continue
			}
			o.segs = append(o.segs, fileInfo{seq: seq, time: sh.firstTime, name: name, size: fi.Size()})
		} else if name == freshMarker {
			o.fresh = true
		} else {
			o.bytes -= fi.Size() // the pending file, a base being written
		}
	}
	sort.Slice(o.bases, func(i, j int) bool { return o.bases[i].seq < o.bases[j].seq })
	sort.Slice(o.segs, func(i, j int) bool { return o.segs[i].seq < o.segs[j].seq })
	o.loaded = true
	if len(o.bases) == 0 {
		o.fresh = true // segments without a base restore nothing
		for _, s := range o.segs {
			o.last.seq = max(o.last.seq, s.seq) // keep sequence numbers increasing
		}
		return nil
	}
	b := o.bases[len(o.bases)-1]
	o.last = record{seq: b.seq, time: b.time}
	if n := len(o.segs); n > 0 && o.segs[n-1].seq > b.seq {
		return o.loadTailLocked(&o.segs[n-1])
	}
	return nil
}

// noHistoryLocked is the error for an object without a readable base.
func (o *objHist) noHistoryLocked() error {
	if len(o.damaged) > 0 {
		return fmt.Errorf("%w: %s: no readable base (left out: %s)", ErrCorrupt, o.key, strings.Join(o.damaged, ", "))
	}
	return fmt.Errorf("%w: %s has no history", object.ErrNotFound, o.key)
}

// loadTailLocked reads the heads of the last segment's records into o.last.
func (o *objHist) loadTailLocked(seg *fileInfo) error {
	f, err := os.OpenFile(o.path(seg.name), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	sc, err := newSegScanner(f, seg.size)
	if err != nil {
		return fmt.Errorf("%s: %w", seg.name, err)
	}
	if sc.prev == nil && o.last.seq+1 != sc.hdr.firstSeq {
		o.fresh = true
	}
	for {
		r, err := sc.next(false)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if !errors.Is(err, errTorn) {
				o.h.cfg.Logger.Error("history: damaged segment cut", "object", o.key, "file", seg.name, "err", err)
				o.fresh = true
			}
			if err := f.Truncate(sc.offset); err != nil {
				return err
			}
			o.bytes -= seg.size - sc.offset
			seg.size = sc.offset
			return f.Sync()
		}
		o.last = r
	}
}

// damagedLocked notes a file whose header cannot be read: it is left out (the
// commits it holds cannot be restored; the others can), and kept for inspection.
func (o *objHist) damagedLocked(name string, err error) {
	o.h.cfg.Logger.Error("history: damaged file left out", "object", o.key, "file", name, "err", err)
	o.damaged = append(o.damaged, name)
}

// freshMarker is the file that says the database moved on without the history (an
// activation whose history failed to open): the next open takes a new base.
const freshMarker = "fresh"

// markFreshLocked makes the next open take a new base, across restarts.
func (o *objHist) markFreshLocked() {
	o.fresh = true
	os.MkdirAll(o.dir, 0o755)
	if f, err := os.Create(o.path(freshMarker)); err == nil {
		f.Close()
	}
}

func readSegHeader(path string) (segHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return segHeader{}, err
	}
	defer f.Close()
	b := make([]byte, segHeaderSize)
	if _, err := io.ReadFull(f, b); err != nil {
		return segHeader{}, fmt.Errorf("%w: %s: segment header: %v", ErrCorrupt, filepath.Base(path), err)
	}
	h, err := decodeSegHeader(b)
	if err != nil {
		return segHeader{}, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return h, nil
}

// readPendingLocked reads the pending file's records (the times of commits a crash
// may have left in the log).
func (o *objHist) readPendingLocked() error {
	b, err := os.ReadFile(o.path("pending"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	o.pending = decodePending(b)
	return nil
}

func (o *objHist) now() int64 { return max(o.h.cfg.Now().UnixNano(), o.last.time) }

// openLocked starts an activation: it archives what a crash left in the log, or
// takes a first base when the database is not the history's continuation.
func (o *objHist) openLocked(path string, checkpoint func() (bool, error)) error {
	if o.open {
		return errors.New("already open")
	}
	if err := o.loadLocked(); err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	o.db, o.checkpoint = path, checkpoint
	if err := o.readPendingLocked(); err != nil {
		return err
	}
	pend, err := os.OpenFile(o.path("pending"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	o.pend, o.open = pend, true
	if o.fresh {
		err = o.checkpointLocked(true)
	} else {
		err = o.archiveLocked(true)
	}
	if err != nil {
		o.closeFilesLocked()
		return err
	}
	return nil
}

// committedLocked records the time of the commit the object's connection just made,
// if it wrote anything: it reads the log frames appended since the last call (from
// the page cache) to find where the commit ends.
func (o *objHist) committedLocked(at time.Time) error {
	if !o.open {
		return nil
	}
	if o.wal == nil {
		f, err := os.Open(o.db + "-wal")
		if err != nil {
			return err
		}
		o.wal = f
	}
	end, err := o.readCommitLocked()
	if err != nil || end == 0 {
		return err
	}
	p := pendingRec{salt1: o.cursor.Salt1, salt2: o.cursor.Salt2, walEnd: end,
		seq: o.headSeqLocked() + 1, time: max(at.UnixNano(), o.headTimeLocked())}
	o.pending = append(o.pending, p)
	_, err = o.pend.Write(p.encode())
	return err
}

// readCommitLocked advances the cursor over the commits appended to the log since
// the last call and returns where the last ends (0: none, a batch that wrote
// nothing). It reads a header when the log may have started a new generation (after
// a checkpoint restarted it), and only as much after the cursor as the new frames
// take. Commits the history holds already (the old generation of a log a checkpoint
// restarted but no writer reset yet) are not new.
func (o *objHist) readCommitLocked() (int64, error) {
	for attempt := 0; attempt < 2; attempt++ {
		if !o.cursor.Valid || attempt == 1 {
			hdr := make([]byte, walfile.HeaderSize)
			if _, err := o.wal.ReadAt(hdr, 0); err != nil {
				return 0, nil // no header: nothing committed
			}
			h, ok := walfile.ParseHeader(hdr)
			if !ok || o.cursor.Valid && h.Salt1 == o.cursor.Salt1 && h.Salt2 == o.cursor.Salt2 {
				return 0, nil // the same log: nothing new
			}
			if h.Salt1 == o.last.salt1 && h.Salt2 == o.last.salt2 {
				// The generation archived and checkpointed last: its next writer
				// starts a new one, so nothing new is in it.
				return 0, nil
			}
			o.cursor.Start(h)
		}
		var end int64
		for chunk := 16 << 10; ; {
			if cap(o.readBuf) < chunk {
				o.readBuf = make([]byte, chunk)
			}
			buf := o.readBuf[:chunk]
			n, err := o.wal.ReadAt(buf, o.cursor.Offset)
			if err != nil && err != io.EOF {
				return 0, err
			}
			e, more := o.cursor.Ends(buf[:n])
			if e != 0 {
				end = e
			}
			if !more || n < chunk {
				break
			}
			if e == 0 {
				chunk *= 4 // a commit longer than the read
			}
		}
		if end != 0 {
			return end, nil
		}
	}
	return 0, nil
}

// headLocked is the object's last commit: the last pending one, else the last archived.
func (o *objHist) headLocked() (uint64, int64) {
	if n := len(o.pending); n > 0 && o.open {
		return o.pending[n-1].seq, o.pending[n-1].time
	}
	return o.last.seq, o.last.time
}

func (o *objHist) headSeqLocked() uint64 { s, _ := o.headLocked(); return s }
func (o *objHist) headTimeLocked() int64 { _, t := o.headLocked(); return t }

// closeLocked ends an activation: everything in the log is archived and the log
// checkpointed, before the database closes.
func (o *objHist) closeLocked() error {
	if !o.open {
		return nil
	}
	err := o.archiveLocked(true)
	o.closeFilesLocked()
	return err
}

func (o *objHist) closeFilesLocked() {
	if o.cur != nil {
		o.cur.Close()
		o.cur = nil
	}
	if o.pend != nil {
		o.pend.Close()
		o.pend = nil
	}
	if o.wal != nil {
		o.wal.Close()
		o.wal = nil
	}
	o.open, o.checkpoint, o.pending, o.cursor, o.archived = false, nil, nil, walfile.Cursor{}, walfile.Cursor{}
}

// catchUpLocked archives, for an object that is not open, what a crash left in its
// log (without checkpointing it: no connection is open), so that the history holds
// every commit of the database at path.
func (o *objHist) catchUpLocked(path string) error {
	if err := o.loadLocked(); err != nil {
		return err
	}
	if o.open || o.fresh {
		return nil
	}
	o.db = path
	if err := o.readPendingLocked(); err != nil {
		return err
	}
	err := o.archiveLocked(false)
	o.pending = nil
	if o.cur != nil {
		o.cur.Close()
		o.cur = nil
	}
	return err
}

// startSegmentLocked makes the segment the next records go to: the group's last
// segment while it has room, else a new file starting with first.
func (o *objHist) startSegmentLocked(first *record, pageSize int) error {
	if o.cur != nil {
		o.cur.Close() // full
		o.cur = nil
	} else if n := len(o.segs); n > 0 && o.segs[n-1].seq > o.bases[len(o.bases)-1].seq && o.segs[n-1].size < o.h.cfg.SegmentBytes {
		s := o.segs[n-1]
		hdr, err := readSegHeader(o.path(s.name))
		if err != nil {
			return err
		}
		if hdr.pageSize != pageSize {
			return fmt.Errorf("%w: the log's page size %d is not the history's %d", ErrCorrupt, pageSize, hdr.pageSize)
		}
		f, err := os.OpenFile(o.path(s.name), os.O_RDWR, 0)
		if err != nil {
			return err
		}
		o.cur, o.curSize = f, s.size
		return nil
	}
	name := fileName("seg", first.seq, "log")
	f, err := os.OpenFile(o.path(name), os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	hdr := segHeader{pageSize: pageSize, firstSeq: first.seq, firstTime: first.time}
	if _, err := f.Write(hdr.encode()); err != nil {
		f.Close()
		return err
	}
	if err := durable.SyncDir(o.dir); err != nil {
		f.Close()
		return err
	}
	o.cur, o.curSize = f, segHeaderSize
	o.segs = append(o.segs, fileInfo{seq: first.seq, time: hdr.firstTime, name: name, size: segHeaderSize})
	o.bytes += segHeaderSize
	o.h.total.Add(segHeaderSize)
	return nil
}

// baseLocked writes the database at db as the base of commit seq and starts a new
// group with it.
func (o *objHist) baseLocked(db string, seq uint64, at int64) error {
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	name := fileName("base", seq, "db")
	n, err := writeBase(o.path(name), db, seq, at)
	if err != nil {
		return fmt.Errorf("base: %w", err)
	}
	if k := len(o.bases); k > 0 && o.bases[k-1].seq == seq {
		o.bytes -= o.bases[k-1].size
		o.bases = o.bases[:k-1]
	}
	o.bases = append(o.bases, fileInfo{seq: seq, time: at, name: name, size: n})
	o.bytes += n
	o.h.total.Add(n)
	o.last, o.fresh = record{seq: seq, time: at}, false
	if err := os.Remove(o.path(freshMarker)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if o.cur != nil {
		o.cur.Close()
		o.cur = nil
	}
	return nil
}

// replacedLocked records that the database at path was replaced (a restore): a base
// of it, as a new commit, now; or, when no file is there (it was deleted), that the
// next database starts a new base.
func (o *objHist) replacedLocked(path string) error {
	if o.open {
		return errors.New("history: the object is open")
	}
	if err := o.loadLocked(); err != nil {
		return err
	}
	if err := os.Remove(o.path("pending")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		o.fresh = true
		return nil
	}
	seq := o.last.seq
	if len(o.bases) > 0 || len(o.segs) > 0 {
		seq++
	}
	return o.baseLocked(path, seq, o.now())
}

// bookmarkForTimeLocked returns the bookmark of the last commit at or before t.
func (o *objHist) bookmarkForTimeLocked(path string, t int64) (string, error) {
	if err := o.catchUpLocked(path); err != nil {
		return "", err
	}
	if len(o.bases) == 0 {
		return "", o.noHistoryLocked()
	}
	if t < o.bases[0].time {
		return "", fmt.Errorf("%w: %s: %s is before the start of its history (%s)", object.ErrNotFound, o.key,
			time.Unix(0, t).UTC().Format(time.RFC3339Nano), time.Unix(0, o.bases[0].time).UTC().Format(time.RFC3339Nano))
	}
	best := record{}
	for _, b := range o.bases {
		if b.time <= t {
			best = record{seq: b.seq, time: b.time}
		}
	}
	for i := len(o.segs) - 1; i >= 0; i-- {
		s := o.segs[i]
		if s.time > t {
			continue
		}
		if s.seq > best.seq {
			r, err := o.lastAtOrBefore(s, t)
			if err != nil {
				return "", err
			}
			if r.seq > best.seq {
				best = r
			}
		}
		break
	}
	for _, p := range o.pending {
		if o.open && p.time <= t && p.seq > best.seq {
			best = record{seq: p.seq, time: p.time}
		}
	}
	return encodeBookmark(o.key, best.seq, best.time), nil
}

// lastAtOrBefore returns the head of segment s's last record at or before t.
func (o *objHist) lastAtOrBefore(s fileInfo, t int64) (record, error) {
	f, err := os.Open(o.path(s.name))
	if err != nil {
		return record{}, err
	}
	defer f.Close()
	sc, err := newSegScanner(f, s.size)
	if err != nil {
		return record{}, fmt.Errorf("%s: %w", s.name, err)
	}
	var best record
	for {
		r, err := sc.next(false)
		if err == io.EOF || err == nil && r.time > t {
			return best, nil
		}
		if err != nil {
			return record{}, fmt.Errorf("%s: %w", s.name, err)
		}
		best = r
	}
}

// prepareLocked writes the database as it was at bookmark into the new file dst and
// returns the bookmark of the object's current state.
func (o *objHist) prepareLocked(path, bookmark, dst string) (string, error) {
	if o.open {
		return "", errors.New("history: the object is open")
	}
	seq, at, err := parseBookmark(o.key, bookmark)
	if err != nil {
		return "", err
	}
	if err := o.catchUpLocked(path); err != nil {
		return "", err
	}
	if len(o.bases) == 0 {
		return "", o.noHistoryLocked()
	}
	if seq > o.last.seq {
		return "", fmt.Errorf("%w: bookmark of commit %d, after the last one (%d)", ErrBadBookmark, seq, o.last.seq)
	}
	bi := -1
	for i, b := range o.bases {
		if b.seq <= seq {
			bi = i
		}
	}
	if bi < 0 && len(o.damaged) > 0 {
		return "", fmt.Errorf("%w: %s: no readable base at or before commit %d (left out: %s)", ErrCorrupt, o.key, seq, strings.Join(o.damaged, ", "))
	}
	if bi < 0 {
		return "", fmt.Errorf("%w: %s: bookmark of commit %d, older than the history kept (it starts at %s)", object.ErrNotFound, o.key, seq,
			time.Unix(0, o.bases[0].time).UTC().Format(time.RFC3339Nano))
	}
	undo := encodeBookmark(o.key, o.last.seq, o.last.time)
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := o.materialize(f, bi, seq, at); err != nil {
		os.Remove(dst)
		return "", err
	}
	if err := f.Sync(); err != nil {
		os.Remove(dst)
		return "", err
	}
	return undo, nil
}

// materialize writes into f the state after commit seq (whose time must be at) from
// base bi and the records after it.
func (o *objHist) materialize(f *os.File, bi int, seq uint64, at int64) error {
	base := o.bases[bi]
	bh, err := copyBase(o.path(base.name), f)
	if err != nil {
		return err
	}
	if seq == base.seq {
		if bh.time != at {
			return fmt.Errorf("%w: it does not name a commit of this object's history", ErrBadBookmark)
		}
		return nil
	}
	var hdr [100]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return fmt.Errorf("%w: %s: not a database: %v", ErrCorrupt, base.name, err)
	}
	pageSize := int(hdr[16])<<8 | int(hdr[17])
	if pageSize == 1 {
		pageSize = 65536
	}
	next := base.seq + 1
	for _, s := range o.segs {
		if s.seq <= base.seq || s.seq > seq {
			continue
		}
		if s.seq != next {
			return fmt.Errorf("%w: %s starts at commit %d, want %d", ErrCorrupt, s.name, s.seq, next)
		}
		sf, err := os.Open(o.path(s.name))
		if err != nil {
			return err
		}
		sc, err := newSegScanner(sf, s.size)
		if err != nil {
			sf.Close()
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if sc.hdr.pageSize != pageSize {
			sf.Close()
			return fmt.Errorf("%w: %s has pages of %d bytes, the base %d", ErrCorrupt, s.name, sc.hdr.pageSize, pageSize)
		}
		for next <= seq {
			r, err := sc.next(true)
			if err == io.EOF {
				break
			}
			if err != nil {
				sf.Close()
				return fmt.Errorf("%s: %w", s.name, err)
			}
			if err := applyRecord(f, &r, pageSize); err != nil {
				sf.Close()
				return err
			}
			next++
			if r.seq == seq && r.time != at {
				sf.Close()
				return fmt.Errorf("%w: it does not name a commit of this object's history", ErrBadBookmark)
			}
		}
		sf.Close()
	}
	if next <= seq {
		return fmt.Errorf("%w: %s: the history ends at commit %d, before %d", ErrCorrupt, o.key, next-1, seq)
	}
	return nil
}

// applyRecord writes a record's pages into the database file f and sets its size.
func applyRecord(f *os.File, r *record, pageSize int) error {
	for n, p := range r.pages {
		if n > r.dbSize {
			continue // written, then truncated away by the same commit
		}
		if _, err := f.WriteAt(p, int64(n-1)*int64(pageSize)); err != nil {
			return err
		}
	}
	return f.Truncate(int64(r.dbSize) * int64(pageSize))
}

// sweepLocked deletes the groups older than cutoff (a group goes once the next
// base is at or before it) and returns the bytes the object's history takes.
func (o *objHist) sweepLocked(cutoff int64) (int64, error) {
	o.waitLocked()
	if err := o.loadLocked(); err != nil {
		return 0, err
	}
	for len(o.bases) >= 2 && o.bases[1].time <= cutoff {
		keep := o.segs[:0]
		for _, s := range o.segs {
			if s.seq <= o.bases[1].seq {
				if err := os.Remove(o.path(s.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return o.bytes, err
				}
				o.bytes -= s.size
				o.h.total.Add(-s.size)
				continue
			}
			keep = append(keep, s)
		}
		o.segs = keep
		if err := os.Remove(o.path(o.bases[0].name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return o.bytes, err
		}
		o.bytes -= o.bases[0].size
		o.h.total.Add(-o.bases[0].size)
		o.bases = o.bases[1:]
	}
	return o.bytes, nil
}

// verifyLocked reads every file in full and checks the groups' continuity.
func (o *objHist) verifyLocked() error {
	o.waitLocked()
	o.loaded = false
	if err := o.loadLocked(); err != nil {
		return err
	}
	var prev *record
	si := 0
	for bi, b := range o.bases {
		bh, err := copyBase(o.path(b.name), io.Discard)
		if err != nil {
			return err
		}
		if prev != nil && (b.seq != prev.seq && b.seq != prev.seq+1 || bh.time < prev.time) {
			return fmt.Errorf("%w: %s follows commit %d at %d", ErrCorrupt, b.name, prev.seq, prev.time)
		}
		last := record{seq: b.seq, time: b.time}
		for ; si < len(o.segs) && (bi+1 == len(o.bases) || o.segs[si].seq <= o.bases[bi+1].seq); si++ {
			s := o.segs[si]
			if s.seq <= b.seq {
				return fmt.Errorf("%w: %s is older than %s", ErrCorrupt, s.name, b.name)
			}
			if s.seq != last.seq+1 {
				return fmt.Errorf("%w: %s starts at commit %d, want %d", ErrCorrupt, s.name, s.seq, last.seq+1)
			}
			f, err := os.Open(o.path(s.name))
			if err != nil {
				return err
			}
			sc, err := newSegScanner(f, s.size)
			for err == nil {
				var r record
				r, err = sc.next(true)
				if err == nil {
					if r.time < last.time {
						err = fmt.Errorf("%w: commit %d goes back in time", ErrCorrupt, r.seq)
					}
					last = r
				}
			}
			f.Close()
			if err != io.EOF {
				return fmt.Errorf("%s: %w", s.name, err)
			}
		}
		prev = &last
	}
	if si != len(o.segs) {
		return fmt.Errorf("%w: %s has no base", ErrCorrupt, o.segs[si].name)
	}
	return nil
}
