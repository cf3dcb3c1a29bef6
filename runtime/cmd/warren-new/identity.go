package main

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
)

// A fork is its own program: its binary, its logs, its usage text and its
// default data directory carry the fork's name, and it listens on a default
// port of its own, so it can run beside the templates. Both come from the
// template's server.App literal (server.App{Name: "chat", Addr: "127.0.0.1:8787", ...}),
// which the template contract requires.

var (
	appNameRE = regexp.MustCompile(`(server\.App\{[^}]*?\bName:\s*)"([^"]*)"`)
	appAddrRE = regexp.MustCompile(`(server\.App\{[^}]*?\bAddr:\s*)"([^"]*)"`)
)

// firstForkPort is where the search for a fork's default port starts: just
// above the templates' own (8787 to 8790).
const firstForkPort = 8791

// templatePorts are the gallery's default ports, never given to a fork.
var templatePorts = []int{8787, 8788, 8789, 8790}

// freePort returns the first port from firstForkPort on that is not a
// template's and that nothing listens on at 127.0.0.1 right now.
func freePort() (int, error) {
	for p := firstForkPort; p < firstForkPort+200; p++ {
		if slices.Contains(templatePorts, p) {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err == nil {
			ln.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port in %d-%d: pass -port", firstForkPort, firstForkPort+199)
}

// renameApp rewrites the server.App literals of a Go file: Name becomes the
// fork's name where it is the template's, and an Addr with a non-zero port gets
// the fork's port. It returns the file and how many names it rewrote.
func (f *forker) renameApp(b []byte) ([]byte, int) {
	n := 0
	b = appNameRE.ReplaceAllFunc(b, func(m []byte) []byte {
		sub := appNameRE.FindSubmatch(m)
		if string(sub[2]) != f.Template {
			return m
		}
		n++
		return []byte(string(sub[1]) + strconv.Quote(f.base))
	})
	b = appAddrRE.ReplaceAllFunc(b, func(m []byte) []byte {
		sub := appAddrRE.FindSubmatch(m)
		host, port, err := net.SplitHostPort(string(sub[2]))
		if err != nil || port == "0" || f.Port == 0 {
			return m // a test's ":0", or no port chosen
		}
		return []byte(string(sub[1]) + strconv.Quote(net.JoinHostPort(host, strconv.Itoa(f.Port))))
	})
	return b, n
}
