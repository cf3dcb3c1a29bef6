package netx

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestCheckHost(t *testing.T) {
	for _, h := range []string{"127.0.0.1", "127.5.6.7", "::1", "localhost"} {
		if err := CheckHost(h, false); err != nil {
			t.Errorf("CheckHost(%q) = %v", h, err)
		}
	}
	for _, h := range []string{"10.0.0.1", "192.168.1.1", "8.8.8.8", ""} {
		if err := CheckHost(h, false); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("CheckHost(%q) = %v, want ErrNotLoopback", h, err)
		}
	}
	if err := CheckHost("10.0.0.1", true); err != nil {
		t.Errorf("allowAny: %v", err)
	}
}

func TestParseSources(t *testing.T) {
	got, err := ParseSources("127.0.0.2-127.0.0.4, 127.1.0.1", false)
	if err != nil || len(got) != 4 || got[2] != netip.MustParseAddr("127.0.0.4") {
		t.Fatalf("got %v %v", got, err)
	}
	if _, err := ParseSources("10.0.0.1", false); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("non-loopback source: %v", err)
	}
	if _, err := ParseSources("nope", false); err == nil {
		t.Error("bad address accepted")
	}
}

func TestDialerRefusesNonLoopback(t *testing.T) {
	d := NewPool(nil).Dialer(false)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// 192.0.2.0/24 is TEST-NET-1; the Control hook refuses before any packet.
	if _, err := d.DialContext(ctx, "tcp", "192.0.2.1:80"); !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("err = %v", err)
	}
}

func TestDialerUsesSources(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	p := NewPool(Auto(3))
	seen := map[string]bool{}
	for range 6 {
		c, err := p.Dialer(false).Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		seen[c.LocalAddr().(*net.TCPAddr).IP.String()] = true
		c.Close()
	}
	if len(seen) != 3 {
		t.Errorf("source addresses used: %v", seen)
	}
}

func TestRaiseNoFile(t *testing.T) {
	got, err := RaiseNoFile(64)
	if err != nil || got < 64 {
		t.Fatalf("RaiseNoFile(64) = %d, %v", got, err)
	}
}
