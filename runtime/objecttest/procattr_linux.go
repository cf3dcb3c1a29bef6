package objecttest

import "syscall"

// procAttr puts the app in its own process group (so signals reach its
// children too) and kills it if the test binary dies first.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
