package server_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

func TestParsePartyPath(t *testing.T) {
	for _, tc := range []struct {
		path, ns, name string
		ok             bool
	}{
		{"/parties/chat/lobby", "chat", "lobby", true},
		{"/parties/chat/lobby/sub/path", "chat", "lobby", true},
		{"/parties/chat/a%2Fb", "chat", "a/b", true},
		{"/parties/chat/caf%C3%A9", "chat", "café", true},
		{"/parties/chat/%zz", "", "", false},
		{"/parties/chat/%FF", "", "", false},
		{"/parties/chat/", "", "", false},
		{"/parties//x", "", "", false},
		{"/other/chat/x", "", "", false},
	} {
		ns, name, err := server.ParsePartyPath(tc.path)
		if (err == nil) != tc.ok || ns != tc.ns || name != tc.name {
			t.Errorf("%s: %q %q %v", tc.path, ns, name, err)
		}
	}
}

// FuzzPartyPath: any request path either fails or yields a valid name that round-trips.
func FuzzPartyPath(f *testing.F) {
	for _, s := range []string{"/parties/chat/lobby", "/parties/chat/a%2Fb/x", "/parties/c/%E2%82%AC", "/parties/c/%", "/parties/../x", "/parties/c/..%2F..%2Fetc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		ns, name, err := server.ParsePartyPath(p)
		if err != nil {
			return
		}
		if server.ValidName(name) != nil || !utf8.ValidString(name) || len(name) > server.MaxNameLen || name == "" || ns == "" {
			t.Fatalf("%q gave invalid name %q", p, name)
		}
		ns2, name2, err := server.ParsePartyPath("/parties/" + url.PathEscape(ns) + "/" + url.PathEscape(name))
		if err != nil || ns2 != ns || name2 != name {
			t.Fatalf("%q: round trip %q %q %v", p, ns2, name2, err)
		}
	})
}

// FuzzConnID: a connection ID is accepted only when it is short printable UTF-8.
func FuzzConnID(f *testing.F) {
	for _, s := range []string{"alice", "", "a\x00b", "5f0c1b9e-8d2e-4c8e-9d0a-6f1e2d3c4b5a", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if server.ValidConnID(id) != nil {
			return
		}
		if id == "" || len(id) > server.MaxConnIDLen || !utf8.ValidString(id) {
			t.Fatalf("accepted %q", id)
		}
		for _, r := range id {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("accepted control character in %q", id)
			}
		}
	})
}

// maskedFrame encodes one client frame (clients must mask).
func maskedFrame(fin bool, op byte, payload []byte) []byte {
	var b bytes.Buffer
	first := op
	if fin {
		first |= 0x80
	}
	b.WriteByte(first)
	switch n := len(payload); {
	case n < 126:
		b.WriteByte(0x80 | byte(n))
	case n < 1<<16:
		b.WriteByte(0x80 | 126)
		binary.Write(&b, binary.BigEndian, uint16(n))
	default:
		b.WriteByte(0x80 | 127)
		binary.Write(&b, binary.BigEndian, uint64(n))
	}
	mask := [4]byte{1, 2, 3, 4}
	b.Write(mask[:])
	for i, c := range payload {
		b.WriteByte(c ^ mask[i%4])
	}
	return b.Bytes()
}

// FuzzFrames writes arbitrary bytes as WebSocket frames to a live server, then a close
// frame: the server must not crash, and must end the connection (a close reply, a
// protocol error, or the ping timeout for a peer stuck inside a partial frame).
func FuzzFrames(f *testing.F) {
	f.Add(maskedFrame(true, 1, []byte("hello")))
	f.Add(maskedFrame(true, 2, []byte{0, 1, 2}))
	f.Add(append(maskedFrame(false, 1, []byte("frag")), maskedFrame(true, 0, []byte("ment"))...))
	f.Add(maskedFrame(true, 1, []byte{0xff, 0xfe}))      // invalid UTF-8 text
	f.Add(maskedFrame(true, 8, []byte{0x03, 0xe8, 'x'})) // close 1000
	f.Add(maskedFrame(true, 9, []byte("ping")))
	f.Add(maskedFrame(true, 1, []byte("ping")))        // the auto-response
	f.Add([]byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'}) // unmasked
	f.Add([]byte{0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4})
	// Short pings: a connection left inside a partial frame ends by the ping bound.
	h := start(f, server.Config{MaxMessageSize: 4096, PingInterval: 100 * time.Millisecond, PongTimeout: 200 * time.Millisecond}, object.Config{})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		req, _ := http.NewRequest("GET", "http://"+h.addr+"/parties/room/fuzz?_pk=f", nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		req.Write(c)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, req)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		c.Write(data)
		c.Write(maskedFrame(true, 8, []byte{0x03, 0xe8}))
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			if _, err := br.ReadByte(); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatal("the server neither answered the close nor dropped the connection")
				}
				return
			}
		}
	})
}
