//go:build !unix

package object

import (
	"fmt"
	"os"
)

// lockDir creates dir/LOCK exclusively. On these platforms a crashed process leaves the
// file behind; remove it by hand after making sure no server runs.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir+"/LOCK", os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w (%s): %v", ErrLocked, dir, err)
	}
	return f, nil
}

func unlockDir(f *os.File) { name := f.Name(); f.Close(); os.Remove(name) }
