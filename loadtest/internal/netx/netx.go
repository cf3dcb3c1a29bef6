// Package netx holds the socket plumbing of the load tester: the file
// descriptor limit, the pool of 127.0.0.x source addresses that keeps many
// sockets from exhausting ephemeral ports, and the guard that keeps every
// connection on loopback.
package netx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
)

// ErrNotLoopback is returned for a target outside the loopback range when
// non-loopback targets were not explicitly allowed.
var ErrNotLoopback = errors.New("netx: target is not a loopback address (pass -allow-non-loopback to override)")

// RaiseNoFile raises the soft RLIMIT_NOFILE to at least want (and the hard
// limit too, where the process may), and returns the soft limit in force.
func RaiseNoFile(want uint64) (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur >= want {
		return l.Cur, nil
	}
	if l.Max < want {
		n := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &n) == nil {
			return want, nil
		}
	}
	l.Cur = min(want, l.Max)
	err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
	if err == nil && l.Cur < want {
		err = fmt.Errorf("netx: open-file limit is %d (hard limit), %d wanted", l.Cur, want)
	}
	return l.Cur, err
}

// CheckHost resolves host and reports ErrNotLoopback unless every address
// it names is a loopback address or allowAny is set.
func CheckHost(host string, allowAny bool) error {
	if allowAny {
		return nil
	}
	if host == "" {
		return ErrNotLoopback
	}
	addrs, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
	if err != nil {
		return fmt.Errorf("netx: resolve %q: %w", host, err)
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return fmt.Errorf("%w: %s is %s", ErrNotLoopback, host, a.Unmap())
		}
	}
	return nil
}

// ParseSources parses a source address list: "" (none: the kernel
// chooses), "auto" (filled in later by Auto), a comma-separated list, or a
// range "127.0.0.2-127.0.0.40". Every address must be loopback unless
// allowAny.
func ParseSources(spec string, allowAny bool) ([]netip.Addr, error) {
	var out []netip.Addr
	if spec == "" || spec == "auto" {
		return nil, nil
	}
	for _, part := range strings.Split(spec, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := netip.ParseAddr(lo)
		if err != nil {
			return nil, fmt.Errorf("netx: source %q: %w", part, err)
		}
		b := a
		if isRange {
			if b, err = netip.ParseAddr(hi); err != nil {
				return nil, fmt.Errorf("netx: source %q: %w", part, err)
			}
		}
		for x := a; x.Compare(b) <= 0 && x.IsValid(); x = x.Next() {
			if !allowAny && !x.IsLoopback() {
				return nil, fmt.Errorf("%w: source %s", ErrNotLoopback, x)
			}
			out = append(out, x)
			if len(out) > 1<<16 {
				return nil, fmt.Errorf("netx: source range %q too large", part)
			}
		}
	}
	return out, nil
}

// Auto returns n source addresses 127.0.0.1, 127.0.0.2, …; each can hold
// about 28,000 sockets to one server port with Linux's default port range.
func Auto(n int) []netip.Addr {
	n = min(max(n, 1), 250)
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{127, 0, 0, byte(1 + i)})
	}
	return out
}

// Pool hands out source addresses round robin. The zero Pool (or one with
// no addresses) leaves the choice to the kernel.
type Pool struct {
	addrs []netip.Addr
	next  atomic.Uint64
}

// NewPool returns a pool over addrs.
func NewPool(addrs []netip.Addr) *Pool { return &Pool{addrs: addrs} }

// Len returns the number of addresses in the pool.
func (p *Pool) Len() int { return len(p.addrs) }

// Dialer returns a dialer bound to the pool's next source address. Its
// Control hook refuses any remote address outside loopback unless allowAny,
// so nothing (a redirect, a DNS answer) can send traffic elsewhere.
func (p *Pool) Dialer(allowAny bool) *net.Dialer {
	d := &net.Dialer{Control: control(allowAny)}
	if len(p.addrs) > 0 {
		a := p.addrs[p.next.Add(1)%uint64(len(p.addrs))]
		d.LocalAddr = &net.TCPAddr{IP: a.AsSlice()}
	}
	return d
}

const ipBindAddressNoPort = 24 // linux/in.h IP_BIND_ADDRESS_NO_PORT

func control(allowAny bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		if !allowAny {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !ap.Addr().Unmap().IsLoopback() {
				return fmt.Errorf("%w: %s", ErrNotLoopback, address)
			}
		}
		// Choose the source port at connect time, per destination, so one
		// source address is not limited by ports bound to other targets.
		c.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
		})
		return nil
	}
}
