package payload

// Yjs is the codec of the collab-editor scenario: every frame is a y-websocket
// sync update ([0, 2, varbytes update]) whose Yjs update inserts one string,
// the token plus filler, into the shared text "content" at its start, as a
// fresh Yjs client (clock 0), so every frame is a valid update on its own, in
// any order. Decode finds the token in the relayed frame like Relay does.
// Frames go out as binary WebSocket messages, as y-websocket sends them.
type Yjs struct{}

func (Yjs) Name() string { return "yjs" }

// Binary reports that Yjs frames are binary messages.
func (Yjs) Binary() bool { return true }

func (Yjs) Append(dst []byte, m Meta, size int) []byte {
	var content []byte
	content = AppendToken(content, m)
	content = pad(content, 0, size-32)
	var u []byte
	u = append(u, 1, 1) // one client, one struct
	client := uint64(m.Run)<<20 ^ uint64(m.Sender)<<32 ^ m.Seq
	client = client&(1<<53-1) | 1<<40 // never collides with real clients' small ids
	u = appendVarUint(u, client)
	u = append(u, 0)    // clock 0
	u = append(u, 4)    // info: String content, no origins: parent info follows
	u = append(u, 1, 7) // parent is a root type, its key has 7 bytes
	u = append(u, "content"...)
	u = appendVarUint(u, uint64(len(content)))
	u = append(u, content...)
	u = append(u, 0) // empty delete set
	dst = append(dst, 0, 2)
	dst = appendVarUint(dst, uint64(len(u)))
	return append(dst, u...)
}

func (Yjs) Decode(frame []byte) (Meta, Kind, bool) { return Relay{}.Decode(frame) }

func appendVarUint(b []byte, x uint64) []byte {
	for x >= 0x80 {
		b = append(b, byte(x)|0x80)
		x >>= 7
	}
	return append(b, byte(x))
}
