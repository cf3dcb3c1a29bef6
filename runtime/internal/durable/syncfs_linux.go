package durable

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// syncFSSupported says whether syncFS syncs a whole file system.
const syncFSSupported = true

// syncFS writes out every dirty page and inode of f's file system and waits for the
// device to keep them (syncfs(2), which reports write-back errors since Linux 5.8).
func syncFS(f *os.File) error {
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return &os.PathError{Op: "syncfs", Path: f.Name(), Err: err}
	}
	return nil
}

// deviceOf returns the device of the file system that f is on.
func deviceOf(f *os.File) (uint64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return uint64(fi.Sys().(*syscall.Stat_t).Dev), nil
}
