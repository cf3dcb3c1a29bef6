package object

import (
	"errors"
	"fmt"
	"os"

	"github.com/warrenhq/warren/runtime/internal/dirlock"
)

// lockDir keeps the data directory to this process (package dirlock); another
// process's lock is ErrLocked.
func lockDir(dir string) (*os.File, error) {
	f, err := dirlock.Lock(dir)
	switch {
	case errors.Is(err, dirlock.ErrHeld):
		return nil, fmt.Errorf("%w (%s): %v", ErrLocked, dir, err)
	case err != nil:
		return nil, fmt.Errorf("object: lock data directory: %w", err)
	}
	return f, nil
}

func unlockDir(f *os.File) { dirlock.Unlock(f) }
