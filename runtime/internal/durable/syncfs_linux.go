package durable

import (
	"os"
	"strconv"
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

// unnamedSupported says whether openUnnamed and linkUnnamed may work here: they link
// through /proc/self/fd, which needs no privilege (AT_EMPTY_PATH does).
var unnamedSupported = func() bool {
	_, err := os.Stat("/proc/self/fd")
	return err == nil
}()

// openUnnamed opens a new, empty file in dir that has no name (O_TMPFILE): it
// vanishes when closed, or after a crash, unless linkUnnamed gives it one. It fails
// on a file system that cannot make such files.
func openUnnamed(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, &os.PathError{Op: "open unnamed file in", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// linkUnnamed gives f, a file of openUnnamed, the name path, which must not exist.
func linkUnnamed(f *os.File, path string) error {
	if err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(int(f.Fd())), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW); err != nil {
		return &os.LinkError{Op: "link", Old: f.Name() + " (unnamed)", New: path, Err: err}
	}
	return nil
}
