// Package procstat reads a process's CPU time and resident memory from
// /proc (Linux only).
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Sample is one reading of a process.
type Sample struct {
	CPU time.Duration // user + system CPU time since the process started
	RSS int64         // resident set size in bytes
}

const clkTck = 100 // USER_HZ; fixed at 100 on Linux for every architecture Go supports

var pageSize = int64(os.Getpagesize())

// Read returns a sample of process pid.
func Read(pid int) (Sample, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Sample{}, err
	}
	// The command name (field 2) may contain spaces: fields start after ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Sample{}, fmt.Errorf("procstat: malformed /proc/%d/stat", pid)
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); utime=14, stime=15, rss=24.
	if len(f) < 22 {
		return Sample{}, fmt.Errorf("procstat: short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(string(f[11]), 10, 64)
	st, _ := strconv.ParseInt(string(f[12]), 10, 64)
	rss, _ := strconv.ParseInt(string(f[21]), 10, 64)
	return Sample{
		CPU: time.Duration(ut+st) * time.Second / clkTck,
		RSS: rss * pageSize,
	}, nil
}

// Self returns a sample of this process, with CPU time at microsecond
// precision from getrusage.
func Self() Sample {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	s, _ := Read(os.Getpid())
	s.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return s
}

// Sum reads every pid and adds the samples up; it fails if any read fails.
func Sum(pids []int) (Sample, error) {
	var t Sample
	for _, p := range pids {
		s, err := Read(p)
		if err != nil {
			return t, err
		}
		t.CPU += s.CPU
		t.RSS += s.RSS
	}
	return t, nil
}
