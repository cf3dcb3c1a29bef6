package server

import (
	"sync"
	"time"

	"github.com/warrenhq/warren/runtime/internal/wshost"
)

// The write side of a socket. Frames wait in the object's queue (object.WebSocket);
// a write round takes all of them that fit in roundBytes and writes them, with the
// control frames that wait, in one system call. Rounds run on the server's flushers
// (flush.go), which never wait for a peer: a write the socket cannot take at once
// (its kernel buffer is full) is finished by the socket's own goroutine, which exists
// only while that lasts. So an idle socket has no writer goroutine, a broadcast costs
// one write per socket, and a socket that fell behind catches up with everything
// queued for it in one write.

// Writer states of a conn (under conn.mu).
const (
	writeIdle    uint8 = iota // nothing waits: the next frame queues a round
	writeQueued               // in the flushers' queue
	writeRunning              // a flusher runs its rounds
	writeSlow                 // the socket's own goroutine writes, waiting for the peer
	writeHeld                 // just written: waits for the holder's next tick (hold.go)
	writeDone                 // the close frame is written or the connection failed: nothing more
)

// roundBytes bounds the frame data of one write round.
const roundBytes = 64 << 10

// maxControl bounds the control frames (pings, pongs) waiting for a socket; more are
// dropped: a pong only has to answer the latest ping (RFC 6455 §5.5.3).
const maxControl = 4

var roundBuffers = sync.Pool{New: func() any { b := make([]byte, 0, roundBytes+1024); return &b }}

// scheduleLocked makes sure a write round will run; c.mu is held.
func (c *conn) scheduleLocked() {
	switch c.wstate {
	case writeIdle:
		c.wstate = writeQueued
		c.s.flush.push(c)
	case writeRunning, writeSlow:
		c.again = true
	}
}

// Flush is wshost.Transport's: frames wait in the socket's queue.
func (c *conn) Flush() {
	c.mu.Lock()
	c.scheduleLocked()
	c.mu.Unlock()
}

// Close is wshost.Transport's: the close frame goes after the frames already taken,
// then the connection is half-closed; if the peer does not take it within
// closeGrace, the connection is closed without it.
func (c *conn) Close(code int, reason string) { c.closeWith(closeFrame(code, reason)) }

// closeWith queues frame as the socket's last one (once).
func (c *conn) closeWith(frame []byte) {
	c.mu.Lock()
	if c.closing != nil || c.wstate == writeDone {
		c.mu.Unlock()
		return
	}
	c.closing = frame
	c.scheduleLocked()
	c.mu.Unlock()
	time.AfterFunc(closeGrace, c.abort)
}

// control queues a ping or pong.
func (c *conn) control(frame []byte) {
	c.mu.Lock()
	if c.closing == nil && c.wstate != writeDone && len(c.ctl) < maxControl {
		c.ctl = append(c.ctl, frame)
		c.scheduleLocked()
	}
	c.mu.Unlock()
}

// closing reports whether the close frame is queued or gone out.
func (c *conn) closingNow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing != nil
}

// endWriting marks the writer done (once), releasing whoever waits for it.
func (c *conn) endWritingLocked() bool {
	if c.wstate == writeDone {
		return false
	}
	c.wstate = writeDone
	c.rest, c.ctl = nil, nil
	close(c.wdone)
	return true
}

// abort closes the connection now, dropping whatever is unwritten.
func (c *conn) abort() {
	c.mu.Lock()
	c.endWritingLocked()
	c.mu.Unlock()
	c.nc.Close()
}

// writeRounds runs write rounds until nothing waits. A flusher calls it with
// blocking false; a round that the socket cannot take at once continues on a new
// goroutine of the socket's own, which calls it with blocking true.
func (c *conn) writeRounds(blocking bool) {
	c.mu.Lock()
	if c.wstate == writeDone {
		c.mu.Unlock()
		return
	}
	if !blocking {
		c.wstate = writeRunning
	}
	c.mu.Unlock()
	for {
		c.mu.Lock()
		c.again = false
		rest, ctl := c.rest, c.ctl
		c.rest, c.ctl = nil, nil
		c.mu.Unlock()
		frames := c.hs.Take(c.frames[:0], roundBytes)
		c.mu.Lock()
		var last []byte
		if c.closing != nil && !c.closeTaken {
			last, c.closeTaken = c.closing, true
		}
		closeInRound := c.closeTaken
		c.mu.Unlock()
		buf, pooled := assemble(rest, ctl, frames, last)
		clear(frames)
		c.frames = frames[:0]
		if len(buf) == 0 {
			c.mu.Lock()
			if c.again && c.wstate != writeDone {
				c.mu.Unlock()
				continue
			}
			if c.wstate != writeDone {
				c.wstate = writeIdle
			}
			c.mu.Unlock()
			return
		}
		n, err := c.write(buf, blocking)
		if n > 0 {
			c.s.writes.Add(1)
		}
		if n < len(buf) && err == nil {
			// The socket's buffer is full: the rest waits for the peer, on the
			// socket's own goroutine.
			c.mu.Lock()
			c.rest = append([]byte(nil), buf[n:]...)
			slow := c.wstate != writeDone
			if slow {
				c.wstate = writeSlow
			}
			c.mu.Unlock()
			release(pooled)
			if slow {
				go c.writeRounds(true)
			}
			return
		}
		release(pooled)
		if err != nil {
			c.s.log.Debug("server: socket write failed", "err", err)
			c.abort()
			return
		}
		if closeInRound {
			c.closeWritten()
			return
		}
		if !blocking && c.s.hold != nil {
			// The next round waits for the holder's tick; what comes meanwhile
			// goes out with it in one write.
			c.mu.Lock()
			held := c.wstate != writeDone
			if held {
				c.wstate = writeHeld
			}
			c.mu.Unlock()
			if held {
				c.s.hold.add(c)
			}
			return
		}
	}
}

// closeWritten ends the writing once the close frame is out: the connection is
// half-closed, and the read loop waits for the peer's close (or closeGrace).
func (c *conn) closeWritten() {
	c.mu.Lock()
	c.endWritingLocked()
	c.mu.Unlock()
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	} else {
		c.nc.Close()
	}
}

// write writes b: with one system call that never waits when not blocking (it may
// write only part of b), else within Config.WriteTimeout.
func (c *conn) write(b []byte, blocking bool) (int, error) {
	if !blocking {
		if c.raw == nil {
			return 0, nil
		}
		return c.raw.tryWrite(b)
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	return c.nc.Write(b)
}

// assemble lays out one round's bytes: the rest of the previous write, the control
// frames, the frames and the close frame. A lone frame is written from its shared
// encoding, without a copy; otherwise the bytes go into a pooled buffer, returned.
func assemble(rest []byte, ctl [][]byte, frames []*wshost.Frame, last []byte) (buf []byte, pooled *[]byte) {
	if rest == nil && ctl == nil && last == nil {
		switch len(frames) {
		case 0:
			return nil, nil
		case 1:
			return frames[0].Wire(encodeFrame), nil
		}
	}
	pooled = roundBuffers.Get().(*[]byte)
	buf = append((*pooled)[:0], rest...)
	for _, f := range ctl {
		buf = append(buf, f...)
	}
	for _, f := range frames {
		buf = append(buf, f.Wire(encodeFrame)...)
	}
	buf = append(buf, last...)
	*pooled = buf
	return buf, pooled
}

func release(pooled *[]byte) {
	if pooled != nil && cap(*pooled) <= 4*roundBytes {
		roundBuffers.Put(pooled)
	}
}
