package history

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/warrenhq/warren/runtime/internal/walfile"
)

// Archiving an object's log. The runner does not wait for the bulk of it: once the
// log is past CheckpointBytes, a goroutine of the History reads the commits in it,
// appends them to the segment and syncs it (the archive in flight; the runner goes
// on committing, the log growing, nothing checkpointed meanwhile). At the runner's
// next idle moment after that archive is durable, the commits written since (the
// tail) are appended by the runner and the segment's sync runs while the runner
// checkpoints the log; the runner returns once both are done, before its next
// commit can reuse the log. So every commit reaches a synced segment before the
// log can be overwritten, and a crash at any point leaves what the segment lost in
// the log (the load cuts a torn tail back to its last whole record).

// syncFile syncs an archive's segment (a test holds it to see the runner go on).
var syncFile = (*os.File).Sync

// archiveJob is one archive: the commits of the log at db after prev, up to the
// offset upTo (0: all), with the times of pending. from, when it is a cursor of the
// log's generation at prev.walEnd (the end of the last archive), is where reading
// starts: the commits before it are not read again.
type archiveJob struct {
	db      string
	prev    record
	from    walfile.Cursor
	pending []pendingRec
	upTo    int64
}

func (o *objHist) jobLocked(upTo int64) archiveJob {
	return archiveJob{db: o.db, prev: o.last, from: o.archived, pending: slices.Clone(o.pending), upTo: upTo}
}

// archiveRead is what an archive read from the log: its commits after the job's
// prev as records, the log's page size, the cursor after the last of them (the next
// archive's from; not Valid: none) and the buffer they alias (release it once they
// are written).
type archiveRead struct {
	recs     []*record
	pageSize int
	next     walfile.Cursor
	buf      *[]byte
}

func (a archiveRead) release() { putBuf(a.buf) }

// logBytesRead counts the bytes archives read from logs (a test checks that an
// archive does not read again what the one before it read).
var logBytesRead atomic.Int64

// bufs holds the buffers archives read logs into and encode segments in (a few MiB
// each; one archive per object runs at a time).
var bufs sync.Pool

func getBuf(n int) *[]byte {
	if p, _ := bufs.Get().(*[]byte); p != nil && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n)
	return &b
}

func putBuf(p *[]byte) {
	if p != nil && cap(*p) <= 64<<20 {
		bufs.Put(p)
	}
}

// records reads the log and returns its commits after j.prev (up to j.upTo) as
// records, each with its time from the pending records (commits without one, after
// a power loss, are archived as one at the log's modification time). It reads only
// the file: the log's writer may append to it meanwhile. With j.from, it reads the
// log from there (the header is read to check the generation is still from's).
func (j archiveJob) records() (archiveRead, error) {
	f, err := os.Open(j.db + "-wal")
	if errors.Is(err, fs.ErrNotExist) {
		return archiveRead{}, nil
	}
	if err != nil {
		return archiveRead{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return archiveRead{}, err
	}
	size, mtime := fi.Size(), fi.ModTime().UnixNano()
	if j.upTo > 0 {
		size = min(size, j.upTo)
	}
	var hb [walfile.HeaderSize]byte
	if _, err := f.ReadAt(hb[:], 0); err != nil {
		return archiveRead{}, nil // no header: SQLite ignores such a log
	}
	h, ok := walfile.ParseHeader(hb[:])
	if !ok {
		return archiveRead{}, nil
	}
	c := j.from
	if !c.Valid || c.Salt1 != h.Salt1 || c.Salt2 != h.Salt2 || c.Salt1 != j.prev.salt1 || c.Salt2 != j.prev.salt2 ||
		c.Offset != j.prev.walEnd || c.PageSize != h.PageSize || c.BigEndian != h.BigEndian {
		c.Start(h)
	}
	start := c.Offset
	buf := getBuf(int(max(size-start, 0)))
	n, err := f.ReadAt(*buf, start)
	if err != nil && err != io.EOF {
		putBuf(buf)
		return archiveRead{}, err
	}
	logBytesRead.Add(int64(n))
	commits := c.Next((*buf)[:n])
	times := map[int64]int64{}
	for _, p := range j.pending {
		if p.salt1 == h.Salt1 && p.salt2 == h.Salt2 {
			times[p.walEnd] = p.time
		}
	}
	out := archiveRead{pageSize: h.PageSize, buf: buf}
	acc := map[uint32][]byte{}
	prev := j.prev
	emit := func(c walfile.Commit, at int64) {
		r := &record{seq: prev.seq + 1, time: max(at, prev.time), salt1: h.Salt1, salt2: h.Salt2,
			walEnd: c.End, dbSize: c.DBSize, pages: acc}
		out.recs = append(out.recs, r)
		out.next = walfile.At(h, c)
		prev = *r
		acc = map[uint32][]byte{}
	}
	var tail *walfile.Commit
	for i, c := range commits {
		if h.Salt1 == j.prev.salt1 && h.Salt2 == j.prev.salt2 && c.End <= j.prev.walEnd {
			continue // archived already
		}
		if j.upTo > 0 && c.End > j.upTo {
			break
		}
		for n, p := range c.Pages {
			acc[n] = p
		}
		if at, ok := times[c.End]; ok {
			emit(c, at)
			tail = nil
		} else {
			tail = &commits[i]
		}
	}
	if tail != nil {
		emit(*tail, mtime)
	}
	return out, nil
}

// waitLocked waits until no archive is in flight (o.mu is released meanwhile).
func (o *objHist) waitLocked() {
	for o.flight != nil {
		ch := o.flight
		o.mu.Unlock()
		<-ch
		o.mu.Lock()
	}
}

// archiveLocked appends to the history the commits of the log it does not hold yet
// and syncs the segment, then, with checkpoint, checkpoints the log into the
// database (and, when a base is due, copies the database as a new base).
func (o *objHist) archiveLocked(checkpoint bool) error {
	o.waitLocked()
	a, err := o.jobLocked(0).records()
	if err != nil {
		return err
	}
	err = o.appendLocked(a)
	a.release()
	if err != nil {
		return err
	}
	o.pending, o.bulkDone = nil, false
	if !checkpoint {
		return nil
	}
	return o.checkpointLocked(false)
}

// appendLocked writes recs to the current segment (a new one if there is none or it
// is full) and syncs it.
func (o *objHist) appendLocked(a archiveRead) error {
	if len(a.recs) == 0 {
		return nil
	}
	f, off, n, err := o.writeLocked(a.recs, a.pageSize)
	if err != nil {
		return err
	}
	if err := syncFile(f); err != nil {
		return err
	}
	o.appendedLocked(a, off, n)
	return nil
}

// writeLocked writes recs after the current segment's end (a new segment if there is
// none or it is full) and returns the file, where they start and their bytes; they
// are the history's once synced and appendedLocked.
func (o *objHist) writeLocked(recs []*record, pageSize int) (*os.File, int64, int, error) {
	if o.cur == nil || o.curSize >= o.h.cfg.SegmentBytes {
		if err := o.startSegmentLocked(recs[0], pageSize); err != nil {
			return nil, 0, 0, err
		}
	}
	n, err := writeRecords(o.cur, o.curSize, recs, pageSize)
	return o.cur, o.curSize, n, err
}

// writeRecords writes recs encoded at off in f and returns their size.
func writeRecords(f *os.File, off int64, recs []*record, pageSize int) (int, error) {
	size := 0
	for _, r := range recs {
		size += recHeaderSize + recFixedSize + len(r.pages)*(4+pageSize)
	}
	buf := getBuf(size)
	defer putBuf(buf)
	b := (*buf)[:0]
	for _, r := range recs {
		b = encodeRecord(b, r, pageSize)
	}
	_, err := f.WriteAt(b, off)
	return len(b), err
}

// appendedLocked makes n bytes of records written at off in the current segment,
// synced, part of the history.
func (o *objHist) appendedLocked(a archiveRead, off int64, n int) {
	o.curSize = off + int64(n)
	o.segs[len(o.segs)-1].size = o.curSize
	o.bytes += int64(n)
	o.h.total.Add(int64(n))
	head := *a.recs[len(a.recs)-1]
	head.pages = nil
	o.last, o.archived = head, a.next
}

// idleLocked archives once the log is past CheckpointBytes: the bulk in flight,
// then the tail with the checkpoint (see above). An archive that is still in flight
// is left to finish: the log keeps growing until it is durable.
func (o *objHist) idleLocked() error {
	if !o.open || o.flight != nil || len(o.pending) == 0 && !o.bulkDone || o.cursor.Offset < o.h.cfg.CheckpointBytes {
		return nil
	}
	archived := int64(walfile.HeaderSize)
	if o.last.salt1 == o.cursor.Salt1 && o.last.salt2 == o.cursor.Salt2 {
		archived = o.last.walEnd
	}
	if !o.bulkDone && o.cursor.Offset-archived > o.h.cfg.CheckpointBytes/4 {
		o.archiveInFlightLocked()
		return nil
	}
	return o.archiveTailLocked()
}

// archiveInFlightLocked starts archiving the commits pending now, off the runner.
func (o *objHist) archiveInFlightLocked() {
	j := o.jobLocked(o.pending[len(o.pending)-1].walEnd)
	ch := make(chan struct{})
	o.flight = ch
	go func() {
		err := o.runInFlight(j)
		o.mu.Lock()
		defer o.mu.Unlock()
		if err != nil {
			o.h.cfg.Logger.Error("history: archive", "object", o.key, "err", err)
			o.bulkDone = true // the next idle archives on the runner (and reports what fails)
		}
		o.flight = nil
		close(ch)
	}()
}

// runInFlight archives j's commits; the segment is written and synced without o.mu
// (no other archive runs while one is in flight, and the segment is not closed).
func (o *objHist) runInFlight(j archiveJob) error {
	a, err := j.records()
	defer a.release()
	if err != nil || len(a.recs) == 0 {
		return err
	}
	o.mu.Lock()
	if o.cur == nil || o.curSize >= o.h.cfg.SegmentBytes {
		err = o.startSegmentLocked(a.recs[0], a.pageSize)
	}
	f, off := o.cur, o.curSize
	o.mu.Unlock()
	if err != nil {
		return err
	}
	n, err := writeRecords(f, off, a.recs, a.pageSize)
	if err != nil {
		return err
	}
	if err := syncFile(f); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.appendedLocked(a, off, n)
	o.pending = o.pending[len(j.pending):]
	o.bulkDone = true
	return nil
}

// archiveTailLocked appends the commits not archived yet (the few since the archive
// in flight ended) and checkpoints the log while the segment syncs; it returns once
// both are done. If the sync fails, the records are cut off again and the next
// checkpoint takes a base (the commits in between are then restorable only as the
// base's state).
func (o *objHist) archiveTailLocked() error {
	a, err := o.jobLocked(0).records()
	defer a.release()
	if err != nil {
		return err
	}
	var synced chan error
	var f *os.File
	var off int64
	var n int
	if len(a.recs) > 0 {
		if f, off, n, err = o.writeLocked(a.recs, a.pageSize); err != nil {
			return err
		}
		synced = make(chan error, 1)
		go func() { synced <- syncFile(f) }()
	}
	done, cerr := o.checkpoint()
	if synced != nil {
		if err := <-synced; err != nil {
			f.Truncate(off)
			o.markFreshLocked()
			o.h.cfg.Logger.Error("history: archive sync failed; the next checkpoint takes a base", "object", o.key, "err", err)
		} else {
			o.appendedLocked(a, off, n)
		}
	}
	o.pending, o.bulkDone = nil, false
	return o.checkpointedLocked(done, cerr, false)
}

// checkpointLocked checkpoints the object's log into its database (everything in it
// was archived); see checkpointedLocked.
func (o *objHist) checkpointLocked(first bool) error {
	done, err := o.checkpoint()
	return o.checkpointedLocked(done, err, first)
}

// checkpointedLocked follows a checkpoint of the log (done: it completed). Once it
// is done, the pending records are dropped, and a base is taken if the database is
// not the history's continuation (fresh), if first asks for one, or if the last
// base is BaseInterval old.
func (o *objHist) checkpointedLocked(done bool, err error, first bool) error {
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if !done {
		return nil // a reader was busy: the log stays, and is archived again later
	}
	o.cursor, o.archived = walfile.Cursor{}, walfile.Cursor{}
	if err := o.pend.Truncate(0); err != nil {
		return err
	}
	due := len(o.bases) > 0 && o.last.seq > o.bases[len(o.bases)-1].seq &&
		o.h.cfg.Now().UnixNano()-o.bases[len(o.bases)-1].time >= int64(o.h.cfg.BaseInterval)
	if !first && !o.fresh && !due {
		return nil
	}
	seq, at := o.last.seq, o.last.time
	if o.fresh {
		if len(o.bases) > 0 || len(o.segs) > 0 {
			seq++
		}
		at = o.now()
	}
	return o.baseLocked(o.db, seq, at)
}
