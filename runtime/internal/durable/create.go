package durable

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// CreateFile writes data to path through a temporary file named by pattern (as
// os.CreateTemp) in path's directory, which it makes when missing: the temporary file
// is written and fsynced, renamed to path, and the directory fsynced. A crash leaves
// path whole or absent, and maybe the temporary file. renamed reports whether the
// rename happened: an error after it (the directory's fsync) leaves path in place but
// perhaps not durable.
func CreateFile(path string, data []byte, pattern string) (renamed bool, err error) {
	f, err := writeTemp(path, data, pattern)
	if err == nil {
		err = f.Sync()
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		if f != nil {
			os.Remove(f.Name())
		}
		return false, err
	}
	return true, SyncDir(filepath.Dir(path))
}

// writeTemp writes data to a new temporary file beside path and returns it open; on
// an error after its creation it is returned too, for the caller to close and remove.
func writeTemp(path string, data []byte, pattern string) (*os.File, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, pattern)
	if errors.Is(err, fs.ErrNotExist) { // the directory is not made yet
		if err = os.MkdirAll(dir, 0o755); err == nil {
			f, err = os.CreateTemp(dir, pattern)
		}
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		return f, err
	}
	return f, nil
}
