package durable

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

const testPattern = ".new-*.tmp"

// TestGroupCreatorCreatesWholeFiles creates files from many goroutines at once, some
// in directories not made yet, and checks each is whole under its name and that no
// temporary file is left.
func TestGroupCreatorCreatesWholeFiles(t *testing.T) {
	bothWays(t, testCreatesWholeFiles)
}

// bothWays runs test with files made without a name and, where that is the default,
// again with temporary names (the fallback of file systems without O_TMPFILE).
func bothWays(t *testing.T, test func(t *testing.T)) {
	t.Run("default", test)
	if unnamedSupported {
		t.Run("temporary names", func(t *testing.T) {
			defer func(u bool) { unnamedSupported = u }(unnamedSupported)
			unnamedSupported = false
			test(t)
		})
	}
}

func testCreatesWholeFiles(t *testing.T) {
	dir := t.TempDir()
	g := NewGroupCreator(testPattern)
	defer g.Close()
	const n = 300
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := filepath.Join(dir, fmt.Sprintf("%02d", i%7), fmt.Sprintf("f%d", i))
			renamed, err := g.Create(path, content(i))
			if err == nil && !renamed {
				err = fmt.Errorf("no error but not renamed")
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		got, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%02d", i%7), fmt.Sprintf("f%d", i)))
		if err != nil || !bytes.Equal(got, content(i)) {
			t.Fatalf("file %d: %d bytes, %v; want %d bytes", i, len(got), err, len(content(i)))
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*", testPattern)); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// TestGroupCreatorNamesOnlyDurableData: until the syncfs that makes a file's data
// durable has returned, its directory holds no entry for it, not even a temporary
// one: a crash then leaves nothing to clean up. Where the file system cannot make a
// file without a name, a temporary file stands in until the rename.
func TestGroupCreatorNamesOnlyDurableData(t *testing.T) {
	if !syncFSSupported || !unnamedSupported {
		t.Skip("no syncfs or no O_TMPFILE here: files are created under temporary names")
	}
	for _, unnamed := range []bool{true, false} {
		t.Run(fmt.Sprintf("unnamed=%v", unnamed), func(t *testing.T) {
			defer func(u bool, f func(*os.File) error) { unnamedSupported, syncFileSystem = u, f }(unnamedSupported, syncFileSystem)
			unnamedSupported = unnamed
			syncing, release := make(chan struct{}, 1), make(chan struct{})
			syncFileSystem = func(f *os.File) error {
				select {
				case syncing <- struct{}{}:
					<-release // the first syncfs waits for the test
				default:
				}
				return syncFS(f)
			}
			dir := t.TempDir()
			g := NewGroupCreator(testPattern)
			defer g.Close()
			created := make(chan error, 1)
			go func() {
				_, err := g.Create(filepath.Join(dir, "f"), content(1))
				created <- err
			}()
			<-syncing
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 0, false: 1}[unnamed]; len(entries) != want {
				t.Errorf("before the data's syncfs returned, the directory holds %d entries (%v); want %d", len(entries), entries, want)
			}
			close(release)
			if err := <-created; err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(filepath.Join(dir, "f")); err != nil || !bytes.Equal(got, content(1)) {
				t.Fatalf("f: %d bytes, %v; want %d bytes", len(got), err, len(content(1)))
			}
			if left, _ := filepath.Glob(filepath.Join(dir, testPattern)); len(left) != 0 {
				t.Fatalf("temporary files left: %v", left)
			}
		})
	}
}

// TestGroupCreatorFailsCleanly checks that a file that cannot be created is an error,
// not renamed, with nothing left behind, and that files after it are created.
func TestGroupCreatorFailsCleanly(t *testing.T) {
	bothWays(t, testFailsCleanly)
}

func testFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	g := NewGroupCreator(testPattern)
	defer g.Close()
	renamed, err := g.Create(filepath.Join(blocker, "sub", "x"), []byte("x"))
	if err == nil || renamed {
		t.Fatalf("create under a regular file: renamed %v, err %v; want an error", renamed, err)
	}
	// The rename fails: a directory is in the way.
	taken := filepath.Join(dir, "taken")
	if err := os.MkdirAll(filepath.Join(taken, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	if renamed, err := g.Create(taken, []byte("x")); err == nil || renamed {
		t.Fatalf("create over a directory: renamed %v, err %v; want an error", renamed, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, testPattern)); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	ok := filepath.Join(dir, "ok")
	if _, err := g.Create(ok, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(ok); string(b) != "ok" {
		t.Fatalf("ok holds %q", b)
	}
}

// TestGroupCreatorAfterClose checks that Create still creates files after Close.
func TestGroupCreatorAfterClose(t *testing.T) {
	dir := t.TempDir()
	g := NewGroupCreator(testPattern)
	g.Close()
	path := filepath.Join(dir, "late")
	if renamed, err := g.Create(path, []byte("late")); err != nil || !renamed {
		t.Fatalf("after Close: renamed %v, err %v", renamed, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "late" {
		t.Fatalf("late holds %q", b)
	}
}

// TestGroupCreatorSlowSyncFallsBack: after a syncfs slower than slowSync (another
// program's backlog of writes), files are created with an fsync each for slowPause,
// then in groups again.
func TestGroupCreatorSlowSyncFallsBack(t *testing.T) {
	if !syncFSSupported {
		t.Skip("no syncfs on this system: Create is CreateFile")
	}
	var mu sync.Mutex
	calls, delay := 0, 50*time.Millisecond
	defer func(f func(*os.File) error, s, p time.Duration) { syncFileSystem, slowSync, slowPause = f, s, p }(syncFileSystem, slowSync, slowPause)
	slowSync, slowPause = 20*time.Millisecond, 300*time.Millisecond
	syncFileSystem = func(f *os.File) error {
		mu.Lock()
		calls++
		d := delay
		mu.Unlock()
		time.Sleep(d)
		return syncFS(f)
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return calls }
	dir := t.TempDir()
	g := NewGroupCreator(testPattern)
	defer g.Close()
	create := func(name string) {
		t.Helper()
		if _, err := g.Create(filepath.Join(dir, name), []byte(name)); err != nil {
			t.Fatal(err)
		}
	}
	create("slow") // its two rounds are slow
	if n := count(); n != 2 {
		t.Fatalf("a file through the group: %d syncfs calls, want 2", n)
	}
	mu.Lock()
	delay = 0
	mu.Unlock()
	create("alone")
	if n := count(); n != 2 {
		t.Fatalf("right after a slow syncfs: %d calls, want still 2 (an fsync of its own)", n)
	}
	time.Sleep(slowPause)
	create("grouped")
	if n := count(); n != 4 {
		t.Fatalf("after the pause: %d syncfs calls, want 4 (grouped again)", n)
	}
	for _, name := range []string{"slow", "alone", "grouped"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != name {
			t.Fatalf("%s holds %q, %v", name, b, err)
		}
	}
}

func content(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 1000+i*37) }

// BenchmarkCreate compares creating 20 KB files (the size of a new object's
// database) one fsync each (CreateFile) with GroupCreator, from 64 goroutines, its
// files made without a name (the default here) and under temporary names.
func BenchmarkCreate(b *testing.B) {
	data := bytes.Repeat([]byte("w"), 20<<10)
	for _, bc := range []struct {
		name   string
		create func(g *GroupCreator, path string) error
	}{
		{"CreateFile", func(_ *GroupCreator, path string) error { _, err := CreateFile(path, data, testPattern); return err }},
		{"GroupCreator", func(g *GroupCreator, path string) error { _, err := g.Create(path, data); return err }},
		{"GroupCreatorTemporaryNames", func(g *GroupCreator, path string) error { _, err := g.Create(path, data); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			defer func(u bool) { unnamedSupported = u }(unnamedSupported)
			unnamedSupported = unnamedSupported && bc.name != "GroupCreatorTemporaryNames"
			dir := b.TempDir()
			g := NewGroupCreator(testPattern)
			defer g.Close()
			var mu sync.Mutex
			next := 0
			b.SetParallelism(32) // 64 goroutines on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					mu.Lock()
					i := next
					next++
					mu.Unlock()
					if err := bc.create(g, filepath.Join(dir, fmt.Sprintf("%02x", i%256), fmt.Sprintf("f%d", i))); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
