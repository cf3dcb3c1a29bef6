//go:build unix

// Package dirlock keeps a directory to one process at a time: the runtime's data
// directory (package object) and a history's (package history).
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrHeld is Lock's error when another process holds the lock.
var ErrHeld = errors.New("held by another process")

// Lock takes an exclusive, non-blocking flock on the directory itself (not on a file
// in it, which could be deleted and recreated: a second process would then lock the
// new file and share the directory). The kernel drops the lock when the process dies,
// so a SIGKILLed server never leaves a stale lock. Another process's lock is ErrHeld.
func Lock(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %v", ErrHeld, err)
	}
	return f, nil
}

// Unlock releases a lock Lock took.
func Unlock(f *os.File) { f.Close() }
