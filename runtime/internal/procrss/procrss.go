// Package procrss reads a process's resident set size, for the measuring tools
// under internal/cmd.
package procrss

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Of returns the resident set size in bytes of process pid (0: this process),
// from /proc/<pid>/status (Linux), or 0 when it cannot be read.
func Of(pid int) int64 {
	file := "/proc/self/status"
	if pid != 0 {
		file = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
