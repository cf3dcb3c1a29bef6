// Package durable holds the file-system steps that make a write survive a crash.
package durable

import "os"

// SyncDir fsyncs directory dir, making a rename or a new file in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
