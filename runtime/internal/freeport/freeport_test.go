package freeport

import (
	"fmt"
	"net"
	"testing"
)

// Picked ports are distinct, bindable, and below the ephemeral range, where
// the kernel puts client sockets' local ports.
func TestPickBelowTheEphemeralRange(t *testing.T) {
	hi := ephemeralStart()
	ports, err := Pick(20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d picked twice: %v", p, ports)
		}
		seen[p] = true
		if hi-lowest >= 1000 && (p < lowest || p >= hi) {
			t.Fatalf("port %d is not in [%d, %d)", p, lowest, hi)
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("picked port %d cannot be bound: %v", p, err)
		}
		l.Close()
	}
}

// A port in use is never picked.
func TestPickSkipsPortsInUse(t *testing.T) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for range 50 {
		p, err := One()
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d was picked while in use: %v", p, err)
		}
		held = append(held, l)
	}
}
