package server

import (
	"encoding/binary"

	"github.com/warrenhq/warren/runtime/internal/wshost"
	"github.com/warrenhq/warren/runtime/object"
)

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opText   = 1
	opBinary = 2
	opClose  = 8
	opPing   = 9
	opPong   = 10
)

// appendFrame appends one final, unmasked (server to client) frame with opcode op
// and payload p to dst.
func appendFrame(dst []byte, op byte, p []byte) []byte {
	switch n := len(p); {
	case n <= 125:
		dst = append(dst, 0x80|op, byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|op, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|op, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, p...)
}

// encodeFrame is the wire form of an object's frame, computed once per frame for
// every socket it goes to (wshost.Frame.Wire).
func encodeFrame(f *wshost.Frame) []byte {
	op := byte(opText)
	if f.Binary {
		op = opBinary
	}
	return appendFrame(make([]byte, 0, len(f.Data)+10), op, f.Data)
}

// closeFrame is a close frame with code and reason (at most 123 bytes), or without
// a body for code 1005 (no status), as RFC 6455 §7.4.1 reserves it.
func closeFrame(code int, reason string) []byte {
	if code == object.CloseNoStatus {
		return appendFrame(nil, opClose, nil)
	}
	body := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(reason)), uint16(code))
	return appendFrame(nil, opClose, append(body, reason...))
}
