package durable

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// GroupCreator creates files as CreateFile does (whole or absent after a crash,
// durable when Create returns) and shares the cost of durability among the files
// created at the same time. Where the system can sync a whole file system (syncfs on
// Linux), every file waiting is written without a sync; one syncfs per file system
// makes the data of all of them durable; they are given their names, and the next
// syncfs, which also carries the next group's data, makes the names durable. A
// file costs no fsync of its own and a group two syncfs calls, whatever its size.
// A file is written with no name (O_TMPFILE) and linked to its path, where the file
// system allows it: one change to its directory instead of a temporary name's
// creation and rename (two changes, each written out by a syncfs of its own), and
// nothing left behind by a crash. Elsewhere it is written under a temporary name
// (pattern) and renamed.
// A syncfs also writes out what other programs left unsynced on the file system: when
// one takes longer than slowSync, Create is CreateFile for the next slowPause, so a
// backlog of someone else's writes costs new files one such round, not one per
// file. Elsewhere Create is CreateFile.
type GroupCreator struct {
	pattern string

	mu        sync.Mutex
	wake      *sync.Cond
	waiting   []*creation // written, waiting for the sync of their data
	closing   bool
	slowUntil time.Time // Create is CreateFile until then (a slow syncfs)
	done      chan struct{}
}

// slowSync is the syncfs duration past which GroupCreator creates files one fsync
// each for slowPause.
var (
	slowSync  = 100 * time.Millisecond
	slowPause = 5 * time.Second
)

// creation is one file of Create on its way through the loop.
type creation struct {
	tmp, path string
	unnamed   *os.File // the file, open until linked to path; nil when written as tmp
	dev       uint64   // the file system of its directory
	renamed   bool
	err       error
	done      chan struct{}
}

// NewGroupCreator returns a GroupCreator whose temporary files are named by pattern
// (as os.CreateTemp); its goroutine runs until Close.
func NewGroupCreator(pattern string) *GroupCreator {
	g := &GroupCreator{pattern: pattern, done: make(chan struct{})}
	g.wake = sync.NewCond(&g.mu)
	if syncFSSupported {
		go g.loop()
	} else {
		close(g.done)
	}
	return g
}

// Create writes data to path, which must not exist, and returns once it is durable;
// the file appears at path whole, only after its data is durable. renamed and err
// are as CreateFile's. After Close, Create is CreateFile.
func (g *GroupCreator) Create(path string, data []byte) (renamed bool, err error) {
	if !syncFSSupported || g.syncingSlowly() {
		return CreateFile(path, data, g.pattern)
	}
	c, err := g.write(path, data)
	if err != nil {
		return false, err
	}
	g.mu.Lock()
	if g.closing {
		g.mu.Unlock()
		c.discard()
		return CreateFile(path, data, g.pattern)
	}
	g.waiting = append(g.waiting, c)
	g.wake.Signal()
	g.mu.Unlock()
	<-c.done
	return c.renamed, c.err
}

// write writes data to a file without a name in path's directory, or where the file
// system cannot make one, to a temporary file beside path, which it closes.
func (g *GroupCreator) write(path string, data []byte) (*creation, error) {
	c := &creation{path: path, done: make(chan struct{})}
	f, err := writeUnnamed(path, data)
	if err == nil {
		c.unnamed = f
	} else if f, err = writeTemp(path, data, g.pattern); f != nil {
		c.tmp = f.Name()
	}
	if err == nil {
		c.dev, err = deviceOf(f)
	}
	if c.tmp != "" {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		c.discard()
		return nil, err
	}
	return c, nil
}

// writeUnnamed writes data to a new file without a name (openUnnamed) in path's
// directory, which it makes when missing, and returns it open; it fails where the
// file system cannot make such a file.
func writeUnnamed(path string, data []byte) (*os.File, error) {
	if !unnamedSupported {
		return nil, errors.ErrUnsupported
	}
	dir := filepath.Dir(path)
	f, err := openUnnamed(dir)
	if errors.Is(err, fs.ErrNotExist) { // the directory is not made yet
		if err = os.MkdirAll(dir, 0o755); err == nil {
			f, err = openUnnamed(dir)
		}
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// discard removes what write made for c.
func (c *creation) discard() {
	if c.unnamed != nil {
		c.unnamed.Close() // a file without a name goes with its last descriptor
	}
	if c.tmp != "" {
		os.Remove(c.tmp)
	}
}

// name gives c's file its path: a link of the unnamed file, or the rename of the
// temporary one. On an error the file is gone.
func (c *creation) name() error {
	var err error
	if c.unnamed != nil {
		err = linkUnnamed(c.unnamed, c.path)
		c.unnamed.Close()
		c.unnamed = nil
	} else if err = os.Rename(c.tmp, c.path); err != nil {
		os.Remove(c.tmp)
	}
	return err
}

// syncingSlowly reports whether the last syncfs was slow, less than slowPause ago.
func (g *GroupCreator) syncingSlowly() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Now().Before(g.slowUntil)
}

// Close lets the files waiting finish and stops the goroutine; Create calls after it
// sync each file alone.
func (g *GroupCreator) Close() {
	g.mu.Lock()
	g.closing = true
	g.wake.Signal()
	g.mu.Unlock()
	<-g.done
}

// loop syncs groups: each round takes the files written since the last, syncs their
// file systems (which makes their data durable and the previous round's names),
// releases the previous round's files and gives this round's their names.
func (g *GroupCreator) loop() {
	defer close(g.done)
	var renamed []*creation // named, waiting for the sync of the name
	for {
		g.mu.Lock()
		for len(g.waiting) == 0 && len(renamed) == 0 && !g.closing {
			g.wake.Wait()
		}
		if g.closing && len(g.waiting) == 0 && len(renamed) == 0 {
			g.mu.Unlock()
			return
		}
		written := g.waiting
		g.waiting = nil
		g.mu.Unlock()

		start := time.Now()
		errs := syncFileSystems(written, renamed)
		if took := time.Since(start); took > slowSync {
			g.mu.Lock()
			g.slowUntil = time.Now().Add(slowPause)
			g.mu.Unlock()
		}
		for _, c := range renamed {
			c.renamed, c.err = true, errs[c.dev]
			close(c.done)
		}
		renamed = nil
		for _, c := range written {
			err := errs[c.dev]
			if err == nil {
				err = c.name()
			} else {
				c.discard()
			}
			if err != nil {
				c.err = err
				close(c.done)
				continue
			}
			renamed = append(renamed, c)
		}
	}
}

// syncFileSystems syncs once each file system that a creation of the groups is on,
// and returns the error of each (nil when it synced).
func syncFileSystems(groups ...[]*creation) map[uint64]error {
	errs := map[uint64]error{}
	for _, group := range groups {
		for _, c := range group {
			if _, done := errs[c.dev]; done {
				continue
			}
			errs[c.dev] = syncFSOf(filepath.Dir(c.path))
		}
	}
	return errs
}

// syncFileSystem is syncFS; tests slow it down.
var syncFileSystem = syncFS

// syncFSOf syncs the file system that dir is on.
func syncFSOf(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return syncFileSystem(d)
}
