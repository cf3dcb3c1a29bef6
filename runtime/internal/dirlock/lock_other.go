//go:build !unix

package dirlock

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrHeld is Lock's error when another process holds the lock.
var ErrHeld = errors.New("held by another process")

// Lock creates dir/LOCK exclusively. On these platforms a crashed process leaves the
// file behind; remove it by hand after making sure no server runs. Another process's
// lock is ErrHeld.
func Lock(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir+"/LOCK", os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w: %v", ErrHeld, err)
	}
	return f, err
}

// Unlock releases a lock Lock took.
func Unlock(f *os.File) { name := f.Name(); f.Close(); os.Remove(name) }
