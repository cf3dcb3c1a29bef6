// Package freeport picks TCP ports on 127.0.0.1 for servers that bind them later
// or in another process (test harnesses: app subprocesses, NATS route ports).
//
// A port is free when it is picked, and is chosen below the kernel's ephemeral
// range, so that the client sockets a test opens by the thousand (their local
// ports come from that range) cannot take it before the server binds it, as
// they could a port picked by listening on port 0 and closing. Two pickers can
// still choose the same port: a server that fails with EADDRINUSE is for the
// caller to start again on new ports.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// lowest is the first port Pick considers: below it are well-known and
// commonly configured service ports.
const lowest = 10000

// Pick returns n distinct ports that were free on 127.0.0.1 a moment ago.
func Pick(n int) ([]int, error) {
	hi := ephemeralStart()
	if hi-lowest < 1000 { // no room below the ephemeral range: the kernel's choice
		return pickAny(n)
	}
	span := hi - lowest
	start := rand.IntN(span)
	ports := make([]int, 0, n)
	for i := 0; i < span && len(ports) < n; i++ {
		p := lowest + (start+i)%span
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		defer l.Close() // held until all are picked, so that no two are the same
		ports = append(ports, p)
	}
	if len(ports) < n {
		return nil, fmt.Errorf("freeport: %d free ports between %d and %d, want %d", len(ports), lowest, hi, n)
	}
	return ports, nil
}

// One is Pick(1).
func One() (int, error) {
	p, err := Pick(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// ephemeralStart is the first port of the kernel's ephemeral range (Linux's
// /proc/sys/net/ipv4/ip_local_port_range), 32768 when it cannot be read.
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	lo, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return lo
}

// pickAny returns n distinct ports the kernel chose (listen on port 0).
func pickAny(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("freeport: %w", err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}
