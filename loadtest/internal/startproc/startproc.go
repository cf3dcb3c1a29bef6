// Package startproc starts the server under test, waits until it accepts
// TCP connections, and stops it.
package startproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Proc is a started server.
type Proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start runs cmdline (split on spaces; no shell) with output to out, and
// waits up to timeout for addr to accept a TCP connection. It fails if the
// process exits first. addr must be a loopback address unless allowAny.
func Start(ctx context.Context, cmdline, addr string, timeout time.Duration, out io.Writer) (*Proc, error) {
	args := strings.Fields(cmdline)
	if len(args) == 0 {
		return nil, errors.New("startproc: empty command")
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("startproc: %w", err)
	}
	p := &Proc{cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("startproc: %s exited before listening on %s: %v", args[0], addr, p.err)
		case <-ctx.Done():
			p.Stop(time.Second)
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Stop(time.Second)
			return nil, fmt.Errorf("startproc: %s not listening on %s after %v", args[0], addr, timeout)
		}
	}
}

// PID returns the server's process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Stop sends SIGTERM to the server's process group, then SIGKILL after
// grace, and waits for it to exit.
func (p *Proc) Stop(grace time.Duration) error {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	return nil
}
