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

var unnamedSupported = false

func openUnnamed(string) (*os.File, error) { return nil, errors.ErrUnsupported }

func linkUnnamed(*os.File, string) error { return errors.ErrUnsupported }
