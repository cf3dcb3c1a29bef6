package clusterchaos

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// OurChild reports whether pid is a live (not a zombie) child process of this
// process, from /proc/<pid>/stat. A node process that exited is reaped at once, and
// its PID may then be given to any other process on the machine (PIDs wrap at
// pid_max, 32768 by default, within a long run): the harness signals or counts a PID
// only while OurChild holds.
func OurChild(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 || string(f[0]) == "Z" {
		return false
	}
	ppid, err := strconv.Atoi(string(f[1]))
	return err == nil && ppid == os.Getpid()
}

// signalChild sends sig to pid if it is [OurChild], and reports whether it was.
func signalChild(pid int, sig syscall.Signal) bool {
	return OurChild(pid) && syscall.Kill(pid, sig) == nil
}

// Leftovers returns the PIDs of pids still running as children of this process
// (node processes left behind), sending each SIGKILL. Other processes that now hold
// one of those PIDs are neither counted nor signalled.
func Leftovers(pids map[int]bool) []int {
	var left []int
	for pid := range pids {
		if signalChild(pid, syscall.SIGKILL) {
			left = append(left, pid)
		}
	}
	return left
}
