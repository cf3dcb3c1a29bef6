//go:build !linux

package objecttest

import "syscall"

// procAttr puts the app in its own process group, so signals reach its
// children too.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
