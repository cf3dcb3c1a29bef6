package object

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// readImage returns exactly the file's bytes, also in a pooled buffer that held a
// bigger file, and refuses a file longer than the size its caller saw.
func TestReadImage(t *testing.T) {
	dir := t.TempDir()
	big, small := bytes.Repeat([]byte{'b'}, 8192), bytes.Repeat([]byte{'s'}, 4096)
	for name, data := range map[string][]byte{"big": big, "small": small} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := readImage(filepath.Join(dir, "big"), len(big))
	if err != nil || !bytes.Equal(img, big) {
		t.Fatalf("big: %d bytes, %v", len(img), err)
	}
	putImage(img)
	for range 3 { // the pool may hand back the big file's buffer
		img, err = readImage(filepath.Join(dir, "small"), len(small))
		if err != nil || !bytes.Equal(img, small) {
			t.Fatalf("small: %d bytes, %v", len(img), err)
		}
		putImage(img)
	}
	if img, err := readImage(filepath.Join(dir, "big"), 4096); err == nil {
		t.Fatalf("a file longer than its size read as %d bytes, want an error", len(img))
	}
	if _, err := readImage(filepath.Join(dir, "missing"), 10); err == nil {
		t.Fatal("a missing file read without an error")
	}
}
