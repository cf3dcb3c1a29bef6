// Package wsclient is a minimal RFC 6455 WebSocket client built for load
// testing: one Conn costs a socket, a read buffer and nothing else, and
// reading a message that fits the read buffer allocates nothing.
//
// It guarantees: client frames are masked; server pings are answered with
// pongs and server closes with a close frame; masked server frames, reserved
// bits, unknown opcodes and oversized messages end the read with an error
// wrapping ErrProtocol or ErrTooLarge. It negotiates no extensions and does
// not validate UTF-8.
package wsclient

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Opcodes of data messages returned by ReadMessage.
const (
	OpText   = 1
	OpBinary = 2
	opCont   = 0
	opClose  = 8
	opPing   = 9
	opPong   = 10
)

// Errors reported by Dial and ReadMessage; match them with errors.Is.
var (
	ErrProtocol  = errors.New("wsclient: protocol error")
	ErrTooLarge  = errors.New("wsclient: message too large")
	ErrHandshake = errors.New("wsclient: handshake failed")
)

// CloseError is returned by ReadMessage when the server sent a close frame.
type CloseError struct {
	Code   int // 1005 when the frame carried no code
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("wsclient: closed by server: %d %s", e.Code, e.Reason)
}

// StatusError is wrapped by Dial when the server answered the upgrade with a
// status other than 101.
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return fmt.Sprintf("wsclient: handshake status %d", e.Code) }

// Options configure Dial. The zero value is usable.
type Options struct {
	// NetDialer dials the TCP connection; nil means a zero net.Dialer.
	// Set its LocalAddr to choose the source address.
	NetDialer *net.Dialer
	// ReadBufferSize is the size of the buffered reader (default 4096).
	// Messages up to this size (minus frame header) are read without copying.
	ReadBufferSize int
	// MaxMessage bounds a message's size (default 16 MiB).
	MaxMessage int
	// Header holds extra request headers, e.g. Origin.
	Header http.Header
}

const guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Conn is a client WebSocket connection. ReadMessage must be called from one
// goroutine; WriteText and Close may be called from any goroutine.
type Conn struct {
	nc  net.Conn
	br  *bufio.Reader
	max int

	msg []byte // assembly buffer for fragmented or large messages

	wmu   sync.Mutex
	wbuf  []byte
	rng   uint64
	wdead time.Duration
}

// Dial opens a WebSocket to rawURL (ws:// only). The context bounds the
// TCP connect and the handshake.
func Dial(ctx context.Context, rawURL string, opt Options) (*Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "ws" {
		return nil, fmt.Errorf("%w: scheme %q not supported (ws only)", ErrHandshake, u.Scheme)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	d := opt.NetDialer
	if d == nil {
		d = &net.Dialer{}
	}
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	c, err := handshake(nc, u, opt)
	if !stop() {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

func handshake(nc net.Conn, u *url.URL, opt Options) (*Conn, error) {
	rbs := opt.ReadBufferSize
	if rbs <= 0 {
		rbs = 4096
	}
	max := opt.MaxMessage
	if max <= 0 {
		max = 16 << 20
	}
	var k [16]byte
	seed := rand.Uint64()
	binary.LittleEndian.PutUint64(k[:8], seed)
	binary.LittleEndian.PutUint64(k[8:], rand.Uint64())
	key := base64.StdEncoding.EncodeToString(k[:])

	var b strings.Builder
	b.WriteString("GET ")
	b.WriteString(u.RequestURI())
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(u.Host)
	b.WriteString("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ")
	b.WriteString(key)
	b.WriteString("\r\n")
	for name, vs := range opt.Header {
		for _, v := range vs {
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(nc, b.String()); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(nc, rbs)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, &StatusError{Code: resp.StatusCode})
	}
	h := sha1.Sum([]byte(key + guid))
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") ||
		resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(h[:]) {
		return nil, fmt.Errorf("%w: bad upgrade response headers", ErrHandshake)
	}
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		return nil, fmt.Errorf("%w: unrequested extension %q", ErrHandshake, ext)
	}
	return &Conn{nc: nc, br: br, max: max, rng: seed | 1, wdead: 10 * time.Second}, nil
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// SetWriteTimeout bounds each write (default 10 s); 0 means no bound.
func (c *Conn) SetWriteTimeout(d time.Duration) { c.wmu.Lock(); c.wdead = d; c.wmu.Unlock() }

// Close closes the socket without a closing handshake.
func (c *Conn) Close() error { return c.nc.Close() }

// CloseGracefully sends a close frame with code 1000 and closes the socket.
func (c *Conn) CloseGracefully() error {
	c.writeFrame(opClose, []byte{0x03, 0xe8})
	return c.nc.Close()
}

// WriteText sends p as one masked text frame.
func (c *Conn) WriteText(p []byte) error { return c.writeFrame(OpText, p) }

// WriteBinary sends p as one masked binary frame.
func (c *Conn) WriteBinary(p []byte) error { return c.writeFrame(OpBinary, p) }

func (c *Conn) writeFrame(op byte, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = AppendFrame(c.wbuf[:0], op, p, c.nextMask())
	if c.wdead > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(c.wdead))
	}
	_, err := c.nc.Write(c.wbuf)
	return err
}

func (c *Conn) nextMask() uint32 {
	// xorshift64: masks need only be unpredictable to intermediaries.
	c.rng ^= c.rng << 13
	c.rng ^= c.rng >> 7
	c.rng ^= c.rng << 17
	return uint32(c.rng)
}

// AppendFrame appends a final, masked client frame carrying p to dst.
func AppendFrame(dst []byte, op byte, p []byte, mask uint32) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(p); {
	case n <= 125:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	var mk [4]byte
	binary.LittleEndian.PutUint32(mk[:], mask)
	dst = append(dst, mk[:]...)
	start := len(dst)
	dst = append(dst, p...)
	maskBytes(dst[start:], mk)
	return dst
}

func maskBytes(b []byte, mk [4]byte) {
	m := uint64(binary.LittleEndian.Uint32(mk[:]))
	m |= m << 32
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^m)
	}
	for ; i < len(b); i++ {
		b[i] ^= mk[i&3]
	}
}

// ReadMessage returns the next text or binary message. The payload is valid
// until the next call. Pings are answered and pongs skipped; a close frame
// is answered and returned as *CloseError.
func (c *Conn) ReadMessage() (op int, p []byte, err error) {
	return readMessage(c.br, c, &c.msg, c.max)
}

// ponger answers control frames; nil in the pure parser.
type ponger interface {
	writeFrame(op byte, p []byte) error
}

// readMessage reads frames from br until a complete data message is
// available. It is the whole receive-side protocol, separated for fuzzing.
func readMessage(br *bufio.Reader, pc ponger, msg *[]byte, max int) (int, []byte, error) {
	msgOp := -1 // opcode of the fragmented message in progress
	*msg = (*msg)[:0]
	for {
		h, err := br.Peek(2)
		if err != nil {
			return 0, nil, err
		}
		fin := h[0]&0x80 != 0
		if h[0]&0x70 != 0 {
			return 0, nil, fmt.Errorf("%w: reserved bits set", ErrProtocol)
		}
		op := int(h[0] & 0x0f)
		if h[1]&0x80 != 0 {
			return 0, nil, fmt.Errorf("%w: masked server frame", ErrProtocol)
		}
		hl := 2
		n := int64(h[1] & 0x7f)
		switch n {
		case 126:
			hl = 4
		case 127:
			hl = 10
		}
		if hl > 2 {
			h, err = br.Peek(hl)
			if err != nil {
				return 0, nil, err
			}
			if hl == 4 {
				n = int64(binary.BigEndian.Uint16(h[2:]))
			} else {
				u := binary.BigEndian.Uint64(h[2:])
				if u > 1<<62 {
					return 0, nil, fmt.Errorf("%w: bad length", ErrProtocol)
				}
				n = int64(u)
			}
		}
		switch op {
		case opClose, opPing, opPong:
			if !fin || n > 125 {
				return 0, nil, fmt.Errorf("%w: bad control frame", ErrProtocol)
			}
		case OpText, OpBinary:
			if msgOp >= 0 {
				return 0, nil, fmt.Errorf("%w: data frame inside fragmented message", ErrProtocol)
			}
		case opCont:
			if msgOp < 0 {
				return 0, nil, fmt.Errorf("%w: continuation without start", ErrProtocol)
			}
		default:
			return 0, nil, fmt.Errorf("%w: opcode %d", ErrProtocol, op)
		}
		if n+int64(len(*msg)) > int64(max) {
			return 0, nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, n+int64(len(*msg)))
		}
		// Zero-copy path: a whole unfragmented data frame that fits the buffer.
		if fin && (op == OpText || op == OpBinary) && int64(hl)+n <= int64(br.Size()) {
			all, err := br.Peek(hl + int(n))
			if err != nil {
				return 0, nil, err
			}
			p := all[hl:]
			br.Discard(hl + int(n)) // the buffer is not refilled until the next Peek
			return op, p, nil
		}
		br.Discard(hl)
		if op >= opClose {
			var ctl [125]byte
			if _, err := io.ReadFull(br, ctl[:n]); err != nil {
				return 0, nil, err
			}
			switch op {
			case opPing:
				if pc != nil {
					if err := pc.writeFrame(opPong, ctl[:n]); err != nil {
						return 0, nil, err
					}
				}
			case opClose:
				ce := &CloseError{Code: 1005}
				if n >= 2 {
					ce.Code = int(binary.BigEndian.Uint16(ctl[:2]))
					ce.Reason = string(ctl[2:n])
				}
				if pc != nil {
					pc.writeFrame(opClose, ctl[:min(n, 2)])
				}
				return 0, nil, ce
			}
			continue
		}
		if op != opCont {
			msgOp = op
		}
		start := len(*msg)
		*msg = append(*msg, make([]byte, n)...)
		if _, err := io.ReadFull(br, (*msg)[start:]); err != nil {
			return 0, nil, err
		}
		if fin {
			return msgOp, *msg, nil
		}
	}
}
