//go:build unix

package server

import (
	"errors"
	"syscall"
)

// tryWrite writes b with one system call that never waits: it returns how much the
// socket took (0 when its buffer is full) and an error only when the connection
// failed. The descriptor is Go's own (non-blocking), used under its write lock.
func tryWrite(rc syscall.RawConn, b []byte) (int, error) {
	var n int
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), b)
			if werr != syscall.EINTR {
				return true
			}
		}
	})
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
