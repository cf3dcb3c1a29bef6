package history

import (
	"os"
	"time"
)

// HoldSegmentSync makes the next sync of a segment call hold first (the test's
// view of an archive whose fsync is slow); later syncs run as usual.
func HoldSegmentSync(hold func()) (restore func()) {
	prev := syncFile
	once := true
	syncFile = func(f *os.File) error {
		if once {
			once = false
			hold()
		}
		return prev(f)
	}
	return func() { syncFile = prev }
}

// SlowSegmentSyncs makes every sync of a segment take d longer (a slow disk: an
// archive is in flight most of the time).
func SlowSegmentSyncs(d time.Duration) {
	prev := syncFile
	syncFile = func(f *os.File) error {
		time.Sleep(d)
		return prev(f)
	}
}

// LogBytesRead is how many bytes archives have read from objects' logs so far.
func LogBytesRead() int64 { return logBytesRead.Load() }
