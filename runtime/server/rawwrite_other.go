//go:build !unix

package server

import "syscall"

// tryWrite never writes here: every write goes through the socket's own goroutine
// (net.Conn.Write).
func tryWrite(rc syscall.RawConn, b []byte) (int, error) { return 0, nil }
