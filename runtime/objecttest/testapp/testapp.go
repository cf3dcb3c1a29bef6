// Package testapp is a tiny real app for testing test harnesses (objecttest's
// app server, browsertest): a chat page whose messages go over a WebSocket, are
// appended (and fsynced) to a file in the data directory, and are broadcast to
// every connected page. Its WebSocket is a minimal RFC 6455 server (text frames,
// no fragmentation, no extensions), so it needs nothing beyond the standard
// library. It is not a Warren app; use it only in tests.
//
// Routes: GET / (the page), GET /healthz, GET /messages (one per line),
// POST /send (form value m), GET /ws (history, then every new message; a text
// frame sent is a new message). Close sends every page close code 1012.
package testapp

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// HelperEnv, set to "1", makes a test binary whose TestMain calls
// [MainIfHelper] run this app instead of its tests, so a harness can start the
// app as a real process: objecttest.ServeBinary(t, os.Args[0]).
const HelperEnv = "WARREN_TESTAPP_HELPER"

// MainIfHelper runs the app and exits when HelperEnv is "1", reading the flags
// every Warren app has (-addr, -data) from os.Args; otherwise it returns at once.
// Call it first in TestMain. It also takes objecttest.StartCluster's flags but
// does not cluster: it only binds -cluster-listen, as a node binds its route
// port, so a harness's handling of ports can be tested; each process serves
// its own state.
func MainIfHelper() {
	if os.Getenv(HelperEnv) != "1" {
		return
	}
	fs := flag.NewFlagSet("app", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8787", "listen address")
	data := fs.String("data", "data", "data directory")
	route := fs.String("cluster-listen", "", "route address to bind (no cluster behind it)")
	peers := fs.String("cluster-peers", "", "route addresses: /healthz answers 503 until each accepts a connection")
	fs.String("node", "", "ignored")
	fs.String("cluster-dir", "", "ignored")
	fs.Parse(os.Args[1:])
	if *route != "" {
		ln, err := net.Listen("tcp", *route)
		if err != nil {
			log.Fatal(err)
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
	}
	app, err := New(*data)
	if err != nil {
		log.Fatal(err)
	}
	if *peers != "" {
		app.peers = strings.Split(*peers, ",")
	}
	log.Printf("listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, app))
}

// App is the chat app. It is an http.Handler and an io.Closer.
type App struct {
	mu      sync.Mutex
	file    *os.File
	msgs    []string
	clients map[*wsConn]struct{}
	closed  bool
	peers   []string // route addresses that must accept before /healthz is 200
}

// New opens (or creates) the app's message file in dir.
func New(dir string) (*App, error) {
	path := filepath.Join(dir, "messages.txt")
	a := &App{clients: map[*wsConn]struct{}{}}
	if b, err := os.ReadFile(path); err == nil {
		for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if l != "" {
				a.msgs = append(a.msgs, l)
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	a.file = f
	return a, nil
}

// ServeHTTP serves the routes of the package doc.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, chatPage)
	case "/healthz":
		for _, p := range a.peers {
			c, err := net.DialTimeout("tcp", p, time.Second)
			if err != nil {
				http.Error(w, "peer "+p+" down", http.StatusServiceUnavailable)
				return
			}
			c.Close()
		}
		io.WriteString(w, "ok")
	case "/messages":
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, m := range a.msgs {
			fmt.Fprintln(w, m)
		}
	case "/send":
		if err := a.add(r.FormValue("m")); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	case "/ws":
		c, err := wsAccept(w, r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.serveWS(c)
	default:
		http.NotFound(w, r)
	}
}

func (a *App) serveWS(c *wsConn) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		c.close(1012)
		return
	}
	for _, m := range a.msgs {
		c.write(opText, []byte(m))
	}
	a.clients[c] = struct{}{}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.clients, c)
		a.mu.Unlock()
		c.conn.Close()
	}()
	for {
		op, p, err := c.read()
		if err != nil || op == opClose {
			return
		}
		if op == opText {
			if err := a.add(string(p)); err != nil {
				return
			}
		}
	}
}

// add stores m durably, then broadcasts it.
func (a *App) add(m string) error {
	m = strings.ReplaceAll(m, "\n", " ")
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return errors.New("closed")
	}
	if _, err := a.file.WriteString(m + "\n"); err != nil {
		return err
	}
	if err := a.file.Sync(); err != nil {
		return err
	}
	a.msgs = append(a.msgs, m)
	for c := range a.clients {
		c.write(opText, []byte(m))
	}
	return nil
}

// Close sends every page close code 1012 (service restart) and closes the file.
func (a *App) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	for c := range a.clients {
		c.close(1012)
	}
	return a.file.Close()
}

const chatPage = `<!doctype html>
<meta charset="utf-8"><title>echo chat</title><link rel="icon" href="data:,">
<p>status: <span id="status">connecting</span></p>
<ul id="log"></ul>
<form id="f"><input id="name" placeholder="name"><input id="text" placeholder="message"><button>Send</button></form>
<script>
const log = document.getElementById("log"), status = document.getElementById("status");
let ws, opens = 0;
function connect() {
  ws = new WebSocket("ws://" + location.host + "/ws");
  ws.onopen = () => { log.replaceChildren(); status.textContent = "online"; status.dataset.opens = String(++opens); console.log("connected"); };
  ws.onmessage = (e) => { const li = document.createElement("li"); li.textContent = e.data; log.append(li); };
  ws.onclose = (e) => { status.textContent = "offline"; console.log("closed " + e.code); setTimeout(connect, 100); };
}
document.getElementById("f").onsubmit = (e) => {
  e.preventDefault();
  const text = document.getElementById("text");
  ws.send(document.getElementById("name").value + ": " + text.value);
  text.value = "";
};
connect();
</script>
`

const (
	opText  = 1
	opClose = 8
	opPing  = 9
	opPong  = 10
)

type wsConn struct {
	conn net.Conn
	br   *bufio.Reader
	mu   sync.Mutex // serializes writes
}

func wsAccept(w http.ResponseWriter, r *http.Request) (*wsConn, error) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if key == "" || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return nil, errors.New("not a websocket handshake")
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:]))
	if err := brw.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	return &wsConn{conn: conn, br: brw.Reader}, nil
}

// read returns the next data or close frame, answering pings.
func (c *wsConn) read() (op byte, payload []byte, err error) {
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			return 0, nil, err
		}
		op = h[0] & 0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(c.br, b[:]); err != nil {
				return 0, nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(c.br, b[:]); err != nil {
				return 0, nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if n > 1<<20 {
			return 0, nil, errors.New("frame too large")
		}
		var mask [4]byte
		masked := h[1]&0x80 != 0
		if masked {
			if _, err := io.ReadFull(c.br, mask[:]); err != nil {
				return 0, nil, err
			}
		}
		payload = make([]byte, n)
		if _, err := io.ReadFull(c.br, payload); err != nil {
			return 0, nil, err
		}
		if masked {
			for i := range payload {
				payload[i] ^= mask[i%4]
			}
		}
		if op == opPing {
			c.write(opPong, payload)
			continue
		}
		return op, payload, nil
	}
}

// write sends one unmasked frame (server to client).
func (c *wsConn) write(op byte, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := []byte{0x80 | op}
	switch {
	case len(p) < 126:
		b = append(b, byte(len(p)))
	case len(p) <= 0xffff:
		b = append(b, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(len(p)))
	}
	_, err := c.conn.Write(append(b, p...))
	return err
}

func (c *wsConn) close(code uint16) {
	c.write(opClose, binary.BigEndian.AppendUint16(nil, code))
	c.conn.Close()
}
