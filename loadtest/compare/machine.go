package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// machineBusy is the CPU time all cores spent outside idle and I/O wait since
// boot (/proc/stat), or 0 where there is no /proc.
func machineBusy() time.Duration {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0
	}
	return parseBusy(sc.Text())
}

// parseBusy reads the aggregate "cpu …" line of /proc/stat (clock ticks of 1/100 s).
func parseBusy(line string) time.Duration {
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0
		}
		// fields: user nice system idle iowait irq softirq steal guest guest_nice;
		// guest time is already counted in user.
		if i == 3 || i == 4 || i >= 8 {
			continue
		}
		busy += n
	}
	return time.Duration(busy) * 10 * time.Millisecond
}

// loadAverage is /proc/loadavg's first three fields, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// flushDisks writes every dirty page of the machine to disk (sync(2)) and returns
// how long it took. A ramp's server commits with an fsync per batch; pages written
// before the ramp (the build of the binaries just before the first one, the files of
// the previous ramp) would otherwise be written back by the kernel some 30 s later
// (vm.dirty_expire_centisecs), in the middle of the ramp, and hold those fsyncs up:
// one measured fsync took 183 ms 30 s after 55 MB were copied, against 3-56 ms in the
// ten seconds around it.
func flushDisks() time.Duration {
	t := time.Now()
	syscall.Sync()
	return time.Since(t)
}

// diskWritten is the bytes written to the machine's disks since boot
// (/proc/diskstats, whole disks only), or 0 where there is no /proc.
func diskWritten() int64 {
	b, err := os.ReadFile("/proc/diskstats")
	if err != nil {
		return 0
	}
	return parseDiskWritten(string(b), func(name string) bool {
		_, err := os.Stat("/sys/block/" + name)
		return err == nil
	})
}

// parseDiskWritten sums the sectors written (the 10th field, 512 bytes each) of the
// /proc/diskstats lines whose device is a whole disk (not a partition, loop or RAM
// device), as bytes.
func parseDiskWritten(stats string, wholeDisk func(name string) bool) int64 {
	var sectors int64
	for _, line := range strings.Split(stats, "\n") {
		f := strings.Fields(line)
		if len(f) < 10 || strings.HasPrefix(f[2], "loop") || strings.HasPrefix(f[2], "ram") || !wholeDisk(f[2]) {
			continue
		}
		if n, err := strconv.ParseInt(f[9], 10, 64); err == nil {
			sectors += n
		}
	}
	return sectors * 512
}
