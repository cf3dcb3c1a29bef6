//go:build unix

package server

import (
	"errors"
	"syscall"
)

// rawWriter writes with one system call that never waits, on Go's own
// (non-blocking) descriptor under its write lock. It allocates nothing per write:
// its callback is bound once, and the write's arguments and results live in it.
// One writer at a time (the socket's write state guarantees it).
type rawWriter struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool
	b   []byte
	n   int
	err error
}

func newRawWriter(rc syscall.RawConn) *rawWriter {
	w := &rawWriter{rc: rc}
	w.fn = w.write
	return w
}

func (w *rawWriter) write(fd uintptr) bool {
	for {
		w.n, w.err = syscall.Write(int(fd), w.b)
		if w.err != syscall.EINTR {
			return true
		}
	}
}

// tryWrite writes b: it returns how much the socket took (0 when its buffer is
// full) and an error only when the connection failed.
func (w *rawWriter) tryWrite(b []byte) (int, error) {
	w.b = b
	err := w.rc.Write(w.fn)
	n, werr := w.n, w.err
	w.b, w.err = nil, nil
	switch {
	case err != nil:
		return 0, err
	case errors.Is(werr, syscall.EAGAIN):
		return 0, nil
	case werr != nil:
		return 0, werr
	}
	return n, nil
}
