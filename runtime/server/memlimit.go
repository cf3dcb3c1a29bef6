package server

import (
	"bufio"
	"os"
	"path"
	"strconv"
	"strings"
)

// memoryLimitShare is the part of the memory available to the process that Main
// makes its soft limit (runtime/debug.SetMemoryLimit) when GOMEMLIMIT is unset: the
// garbage collector then works harder as the heap nears it instead of letting
// garbage double the heap, and the rest is left to stacks, SQLite and the page cache.
const memoryLimitShare = 0.75

// defaultMemoryLimit returns memoryLimitShare of the memory available to the
// process: the tightest memory.max (cgroup v2) on the path of its cgroup, else the
// machine's MemTotal. It returns 0 when neither is known (not Linux).
func defaultMemoryLimit(root string) int64 {
	avail := cgroupMemoryMax(root)
	if avail <= 0 {
		avail = memTotal(root + "/proc/meminfo")
	}
	if avail <= 0 {
		return 0
	}
	return int64(float64(avail) * memoryLimitShare)
}

// cgroupMemoryMax reads memory.max from the process's cgroup (v2) and its parents
// and returns the smallest; 0 when there is none ("max" everywhere, or cgroup v1).
func cgroupMemoryMax(root string) int64 {
	b, err := os.ReadFile(root + "/proc/self/cgroup")
	if err != nil {
		return 0
	}
	var dir string
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			dir = path.Clean("/" + strings.TrimSpace(p))
		}
	}
	if dir == "" {
		return 0
	}
	var least int64
	for {
		v, err := os.ReadFile(root + "/sys/fs/cgroup" + strings.TrimSuffix(dir, "/") + "/memory.max")
		if err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64); err == nil && n > 0 && (least == 0 || n < least) {
				least = n
			}
		}
		if dir == "/" {
			return least
		}
		dir = path.Dir(dir)
	}
}

// memTotal reads MemTotal from a meminfo file, in bytes.
func memTotal(file string) int64 {
	f, err := os.Open(file)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
