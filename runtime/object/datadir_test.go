package object_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// TestDataDirLockSurvivesDeletedLockFile pins issue 13 item 17: the lock was a flock on
// DataDir/LOCK, so once that file was deleted a second runtime locked a fresh one and
// both served the same objects. Fails on the code before the fix (the second New
// succeeded).
func TestDataDirLockSurvivesDeletedLockFile(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	if err := os.Remove(filepath.Join(rt.Dir, "LOCK")); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	rt2, err := object.New(object.Config{DataDir: rt.Dir})
	if err == nil {
		rt2.Close()
	}
	if !errors.Is(err, object.ErrLocked) {
		t.Fatalf("second runtime after LOCK was deleted: %v, want ErrLocked", err)
	}
	rt.Close()
	rt3, err := object.New(object.Config{DataDir: rt.Dir})
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	rt3.Close()
}

// TestCrashLeftTempFilesAreRemoved pins the "also seen" temporary files of issue 13: a
// crash while the template or a new object file was being written left
// .template-*.sqlite* in the data directory and .new-*.sqlite in a shard directory,
// never removed. Fails on the code before the fix (the files stayed).
func TestCrashLeftTempFilesAreRemoved(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	c := registerCounter(t, rt.Runtime)
	stub := c.ns.GetByName("kept")
	if _, err := c.increment.Call(context.Background(), stub, 1); err != nil {
		t.Fatal(err)
	}
	rt.Close()
	shard := filepath.Dir(rt.DatabasePath("counter", stub.ID()))
	stale := []string{
		filepath.Join(rt.Dir, ".template-123.sqlite"),
		filepath.Join(rt.Dir, ".template-123.sqlite-wal"),
		filepath.Join(rt.Dir, ".template-123.sqlite-journal"),
		filepath.Join(shard, ".new-456.sqlite"),
	}
	for _, p := range stale {
		if err := os.WriteFile(p, []byte("half-written"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rt2 := rt.Restart(t, object.Config{})
	for _, p := range stale {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived a restart (err %v)", filepath.Base(p), err)
		}
	}
	c2 := registerCounter(t, rt2.Runtime)
	if n, err := c2.get.Call(context.Background(), c2.ns.Get(stub.ID())); err != nil || n != 1 {
		t.Fatalf("the object next to the temp file: %d, %v; want 1", n, err)
	}
}
