package object

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// ID identifies one object within a namespace: 64 lowercase hex digits.
//
// The first 24 bytes are the object's identity (a keyed hash of the name, or random);
// the last 8 are a tag keyed by the namespace, so IDFromString rejects an ID minted
// by another namespace. The zero ID is invalid.
type ID struct {
	raw  [32]byte
	name string
	has  bool
}

// String returns the 64-hex-digit form.
func (id ID) String() string { return hex.EncodeToString(id.raw[:]) }

// Name returns the name the object was addressed by, and whether it was addressed by name.
func (id ID) Name() (string, bool) { return id.name, id.has }

// Equal reports whether two IDs identify the same object (names are not compared).
func (id ID) Equal(o ID) bool { return id.raw == o.raw }

// IsZero reports whether id is the zero value.
func (id ID) IsZero() bool { return id.raw == [32]byte{} }

type idKeys struct{ name, tag [32]byte }

func newIDKeys(namespace string) idKeys {
	var k idKeys
	k.name = sha256.Sum256([]byte("warren/id/name\x00" + namespace))
	k.tag = sha256.Sum256([]byte("warren/id/tag\x00" + namespace))
	return k
}

func (k idKeys) seal(body []byte) ID {
	var id ID
	copy(id.raw[:24], body)
	m := hmac.New(sha256.New, k.tag[:])
	m.Write(id.raw[:24])
	copy(id.raw[24:], m.Sum(nil))
	return id
}

func (k idKeys) fromName(name string) ID {
	m := hmac.New(sha256.New, k.name[:])
	m.Write([]byte(name))
	id := k.seal(m.Sum(nil)[:24])
	id.name, id.has = name, true
	return id
}

func (k idKeys) unique() ID {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("object: crypto/rand failed: " + err.Error())
	}
	return k.seal(b[:])
}

func (k idKeys) parse(s string) (ID, error) {
	if len(s) != 64 {
		return ID{}, fmt.Errorf("%w: want 64 hex digits, got %d characters", ErrInvalidID, len(s))
	}
	var raw [32]byte
	for i := 0; i < 64; i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return ID{}, fmt.Errorf("%w: want lowercase hex digits", ErrInvalidID)
		}
	}
	if _, err := hex.Decode(raw[:], []byte(s)); err != nil {
		return ID{}, fmt.Errorf("%w: %v", ErrInvalidID, err)
	}
	want := k.seal(raw[:24])
	if !hmac.Equal(want.raw[24:], raw[24:]) {
		return ID{}, fmt.Errorf("%w: the ID belongs to another namespace", ErrInvalidID)
	}
	return want, nil
}
