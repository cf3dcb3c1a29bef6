package history

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/warrenhq/warren/runtime/internal/durable"
)

// A base file is a whole database as it was after one commit:
//
//	header (40 bytes): "WRNHBAS1", seq u64, time i64 (Unix ns), database bytes u64,
//	                   CRC-32C of the database bytes u32, CRC-32C of the 36 bytes before u32
//	the database file's bytes
//
// Integers are big-endian.

const (
	baseMagic      = "WRNHBAS1"
	baseHeaderSize = 40
)

type baseHeader struct {
	seq  uint64
	time int64
	size int64
	sum  uint32
}

func (h baseHeader) encode() []byte {
	b := make([]byte, baseHeaderSize)
	copy(b, baseMagic)
	binary.BigEndian.PutUint64(b[8:], h.seq)
	binary.BigEndian.PutUint64(b[16:], uint64(h.time))
	binary.BigEndian.PutUint64(b[24:], uint64(h.size))
	binary.BigEndian.PutUint32(b[32:], h.sum)
	binary.BigEndian.PutUint32(b[36:], crc32.Checksum(b[:36], castagnoli))
	return b
}

func decodeBaseHeader(b []byte) (baseHeader, error) {
	if len(b) < baseHeaderSize {
		return baseHeader{}, fmt.Errorf("%w: base header: %d bytes, want %d", ErrCorrupt, len(b), baseHeaderSize)
	}
	if string(b[:8]) != baseMagic {
		return baseHeader{}, fmt.Errorf("%w: not a history base (magic %q)", ErrCorrupt, b[:8])
	}
	if crc32.Checksum(b[:36], castagnoli) != binary.BigEndian.Uint32(b[36:]) {
		return baseHeader{}, fmt.Errorf("%w: base header checksum mismatch", ErrCorrupt)
	}
	h := baseHeader{seq: binary.BigEndian.Uint64(b[8:]), time: int64(binary.BigEndian.Uint64(b[16:])),
		size: int64(binary.BigEndian.Uint64(b[24:])), sum: binary.BigEndian.Uint32(b[32:])}
	if h.size < 0 {
		return baseHeader{}, fmt.Errorf("%w: base size %d", ErrCorrupt, h.size)
	}
	return h, nil
}

// readBaseHeader reads and checks the header of the base file at path, and that the
// file is as long as it says.
func readBaseHeader(path string) (baseHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return baseHeader{}, err
	}
	defer f.Close()
	b := make([]byte, baseHeaderSize)
	if _, err := io.ReadFull(f, b); err != nil {
		return baseHeader{}, fmt.Errorf("%w: %s: base header: %v", ErrCorrupt, filepath.Base(path), err)
	}
	h, err := decodeBaseHeader(b)
	if err != nil {
		return baseHeader{}, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	fi, err := f.Stat()
	if err != nil {
		return baseHeader{}, err
	}
	if fi.Size() != baseHeaderSize+h.size {
		return baseHeader{}, fmt.Errorf("%w: %s is truncated: %d bytes, its header says %d", ErrCorrupt, filepath.Base(path), fi.Size(), baseHeaderSize+h.size)
	}
	return h, nil
}

// writeBase writes the database file db as the base file path (seq, at): through a
// synced temporary file, renamed, its directory synced. It returns the base's size.
func writeBase(path, db string, seq uint64, at int64) (int64, error) {
	src, err := os.Open(db)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return 0, err
	}
	h := baseHeader{seq: seq, time: at}
	sum := crc32.New(castagnoli)
	_, err = f.Write(make([]byte, baseHeaderSize))
	if err == nil {
		h.size, err = io.Copy(io.MultiWriter(f, sum), src)
	}
	if err == nil {
		h.sum = sum.Sum32()
		_, err = f.WriteAt(h.encode(), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return baseHeaderSize + h.size, durable.SyncDir(filepath.Dir(path))
}

// copyBase writes the database bytes of the base file at path into w, checked
// against its header (a mismatch is reported after the copy: w is then garbage).
func copyBase(path string, w io.Writer) (baseHeader, error) {
	h, err := readBaseHeader(path)
	if err != nil {
		return baseHeader{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return baseHeader{}, err
	}
	defer f.Close()
	sum := crc32.New(castagnoli)
	n, err := io.Copy(io.MultiWriter(w, sum), io.NewSectionReader(f, baseHeaderSize, h.size))
	if err != nil {
		return baseHeader{}, err
	}
	if n != h.size || sum.Sum32() != h.sum {
		return baseHeader{}, fmt.Errorf("%w: %s: the database bytes do not match their checksum", ErrCorrupt, filepath.Base(path))
	}
	return h, nil
}
