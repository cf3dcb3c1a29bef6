package procstat

import (
	"os"
	"testing"
	"time"
)

func TestSelf(t *testing.T) {
	before := Self()
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	deadline := time.Now().Add(50 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	after := Self()
	if after.CPU <= before.CPU {
		t.Errorf("CPU did not grow: %v -> %v", before.CPU, after.CPU)
	}
	if after.RSS < 64<<20 {
		t.Errorf("RSS %d < 64 MiB after touching 64 MiB", after.RSS)
	}
	s, err := Sum([]int{os.Getpid()})
	if err != nil || s.RSS <= 0 {
		t.Errorf("Sum = %+v %v", s, err)
	}
	_ = buf[x%len(buf)]
}

func TestReadMissing(t *testing.T) {
	if _, err := Read(1 << 30); err == nil {
		t.Error("no error for a missing pid")
	}
}
