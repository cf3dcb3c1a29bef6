// Package yupdate works on Yjs updates (the V1 binary format y-websocket sends)
// without a Yjs document: it validates them, merges them, diffs them against a
// state vector, and reads a text out of them.
//
// A Yjs update is a set of structs, each identified by (client, clock), plus a
// delete set of clock ranges. Merging updates is a union of both, so it needs no
// CRDT integration (the ordering of items, which can take quadratic time): every
// operation here but Text is linear in the size of its input (plus a sort).
// This is what Yjs' own mergeUpdates, diffUpdate and encodeStateVectorFromUpdate
// do; Text integrates like Yjs, within a budget of steps.
package yupdate

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/warrenhq/warren/apps/collab-editor/internal/lib0"
)

// MaxClock bounds every clock and length in an update. Real clients stay far
// below it (a client's clock counts what one session inserted), and it keeps
// clocks within 32 bits here and cheap for every Yjs implementation.
const MaxClock = 1 << 22

// ErrMalformed reports an update that is not a well-formed Yjs V1 update within
// the limits, or that a Yjs client would fail to apply.
var ErrMalformed = errors.New("yupdate: malformed update")

// Struct kinds (the low five bits of a struct's info byte): 0 is GC, 10 Skip, and
// 1 to 9 an item of that content type.
const (
	refGC      = 0
	refDeleted = 1
	refJSON    = 2
	refBinary  = 3
	refString  = 4
	refEmbed   = 5
	refFormat  = 6
	refType    = 7
	refAny     = 8
	refDoc     = 9
	refSkip    = 10
)

// Info byte flags of an item.
const (
	hasOrigin      = 0x80
	hasRightOrigin = 0x40
	hasParentSub   = 0x20
)

// span is one struct of an update: its clock range and where its bytes are.
type span struct {
	clock, length uint32
	off           uint32 // the info byte
	coff          uint32 // the content (for GC and Skip: the length)
	end           uint32
	info          uint8
}

func (s span) ref() uint8   { return s.info & 0x1f }
func (s span) next() uint32 { return s.clock + s.length }

// run is the structs of one client in one update, in clock order.
type run struct {
	client uint64
	src    []byte
	spans  []span
}

// drange is a range of deleted clocks.
type drange struct{ clock, length uint32 }

// dsClient is the deleted ranges of one client.
type dsClient struct {
	client uint64
	ranges []drange
}

// Update is a parsed update. Its byte slices point into the bytes it was
// parsed from, which must not change.
type Update struct {
	b       []byte
	runs    []run
	ds      []dsClient
	structs int
}

// Bytes returns the update's encoding.
func (u *Update) Bytes() []byte { return u.b }

// Structs returns the number of structs (items, GC and skips).
func (u *Update) Structs() int { return u.structs }

// Empty reports whether u has no structs and no deletions.
func (u *Update) Empty() bool { return len(u.runs) == 0 && len(u.ds) == 0 }

func malformed(what string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(what, args...))
}

// Parse validates and parses a V1 update. It accepts only what every Yjs client
// applies without an error, within MaxClock: each client at most once, no empty
// struct, valid UTF-8 in every string, valid JSON where Yjs parses JSON, known
// content and type references, an object as a subdocument's options.
func Parse(b []byte) (*Update, error) {
	r := lib0.NewReader(b)
	u := &Update{b: b}
	seen := map[uint64]bool{}
	clients := r.Count()
	for i := uint64(0); i < clients && r.Err() == nil; i++ {
		n := r.Count()
		rn := run{client: r.Uint(), src: b}
		clock := r.Uint()
		if r.Err() != nil {
			break
		}
		if seen[rn.client] {
			return nil, malformed("client %d twice", rn.client)
		}
		seen[rn.client] = true
		if clock > MaxClock {
			return nil, malformed("clock %d over MaxClock", clock)
		}
		rn.spans = make([]span, 0, n)
		for j := uint64(0); j < n && r.Err() == nil; j++ {
			s, err := readStruct(r, uint32(clock))
			if err != nil {
				return nil, err
			}
			if r.Err() != nil {
				break
			}
			rn.spans = append(rn.spans, s)
			clock = uint64(s.next())
		}
		if len(rn.spans) > 0 {
			u.runs = append(u.runs, rn)
			u.structs += len(rn.spans)
		}
	}
	ds, err := readDeleteSet(r)
	if err != nil {
		return nil, err
	}
	if r.Err() != nil {
		return nil, malformed("truncated or out of range")
	}
	u.ds = ds
	return u, nil
}

// readStruct reads the struct at clock.
func readStruct(r *lib0.Reader, clock uint32) (span, error) {
	s := span{clock: clock, off: uint32(r.Pos())}
	s.info = r.Byte()
	var n uint64
	switch s.ref() {
	case refGC, refSkip:
		s.coff = uint32(r.Pos())
		n = r.Uint()
	default:
		if s.info&hasOrigin != 0 {
			r.Uint()
			r.Uint()
		}
		if s.info&hasRightOrigin != 0 {
			r.Uint()
			r.Uint()
		}
		if s.info&(hasOrigin|hasRightOrigin) == 0 {
			if r.Uint() == 1 {
				r.VarString() // a root type's name
			} else {
				r.Uint() // a type item's ID
				r.Uint()
			}
			if s.info&hasParentSub != 0 {
				r.VarString()
			}
		}
		s.coff = uint32(r.Pos())
		var err error
		if n, err = readContent(r, s.ref()); err != nil {
			return s, err
		}
	}
	if r.Err() != nil {
		return s, nil
	}
	if n == 0 {
		return s, malformed("empty struct at clock %d", clock)
	}
	if uint64(clock)+n > MaxClock {
		return s, malformed("clock over MaxClock")
	}
	s.length, s.end = uint32(n), uint32(r.Pos())
	return s, nil
}

// readContent reads an item's content of type ref and returns its length.
func readContent(r *lib0.Reader, ref uint8) (uint64, error) {
	validJSON := func(s string) {
		if r.Err() == nil && !json.Valid([]byte(s)) {
			r.Fail(malformed("content is not JSON"))
		}
	}
	switch ref {
	case refDeleted:
		return r.Uint(), nil
	case refJSON:
		n := r.Count()
		for k := uint64(0); k < n && r.Err() == nil; k++ {
			if s := r.VarString(); s != "undefined" {
				validJSON(s)
			}
		}
		return n, nil
	case refBinary:
		r.Bytes()
	case refString:
		return uint64(utf16Len(r.VarString())), nil
	case refEmbed:
		validJSON(r.VarString())
	case refFormat:
		r.VarString()
		validJSON(r.VarString())
	case refType:
		switch t := r.Uint(); t {
		case 3, 5: // YXmlElement, YXmlHook: a node name
			r.VarString()
		case 0, 1, 2, 4, 6:
		default:
			return 0, malformed("type reference %d", t)
		}
	case refAny:
		n := r.Count()
		for k := uint64(0); k < n && r.Err() == nil; k++ {
			r.SkipAny()
		}
		return n, nil
	case refDoc:
		r.VarString()
		if r.SkipAny() != 118 && r.Err() == nil { // Yjs reads the options' fields
			return 0, malformed("subdocument options are not an object")
		}
	default:
		return 0, malformed("content type %d", ref)
	}
	return 1, nil
}

func readDeleteSet(r *lib0.Reader) ([]dsClient, error) {
	var out []dsClient
	n := r.Count()
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		c := dsClient{client: r.Uint()}
		k := r.Count()
		for j := uint64(0); j < k && r.Err() == nil; j++ {
			clock, length := r.Uint(), r.Uint()
			if clock+length > MaxClock {
				return nil, malformed("deletion over MaxClock")
			}
			if length > 0 {
				c.ranges = append(c.ranges, drange{uint32(clock), uint32(length)})
			}
		}
		if len(c.ranges) > 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

// utf16Len is the length of a UTF-8 string in UTF-16 code units (Yjs' unit).
func utf16Len(s string) int {
	n := 0
	for _, c := range s {
		if c >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}
