//go:build !unix

package server

import "syscall"

// rawWriter never writes here: every write goes through the socket's own goroutine
// (net.Conn.Write).
type rawWriter struct{}

func newRawWriter(syscall.RawConn) *rawWriter { return &rawWriter{} }

func (*rawWriter) tryWrite([]byte) (int, error) { return 0, nil }
