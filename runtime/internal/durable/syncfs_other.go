//go:build !linux

package durable

import (
	"errors"
	"os"
)

// syncFSSupported says whether syncFS syncs a whole file system.
const syncFSSupported = false

func syncFS(*os.File) error { return errors.ErrUnsupported }

func deviceOf(*os.File) (uint64, error) { return 0, errors.ErrUnsupported }
