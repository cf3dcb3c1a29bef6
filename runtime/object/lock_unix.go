//go:build unix

package object

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive, non-blocking flock on the data directory itself (not on a
// file in it, which could be deleted and recreated: a second process would then lock
// the new file and share the directory). The kernel drops the lock when the process
// dies, so a SIGKILLed server never leaves a stale lock.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("object: lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (%s): %v", ErrLocked, dir, err)
	}
	return f, nil
}

func unlockDir(f *os.File) { f.Close() }
