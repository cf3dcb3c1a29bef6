package object

import (
	"errors"
	"strings"
	"testing"
)

// FuzzAddress checks how a network endpoint's name is read (AddressableByID): a name
// starting with IDPrefix gives the ID whose String is the rest, or ErrInvalidID;
// any other name, or any name in a namespace without the option, gives the name's ID.
func FuzzAddress(f *testing.F) {
	keys := newIDKeys("docs")
	for _, s := range []string{"room", "", "id:", "id:" + keys.unique().String(), "id:" + keys.fromName("x").String(),
		"id:" + newIDKeys("other").unique().String(), "id:" + strings.Repeat("0", 64), "ID:" + keys.unique().String(), "id:id:"} {
		f.Add(s)
	}
	byID := &nsCore{keys: keys, byID: true}
	byName := &nsCore{keys: keys}
	f.Fuzz(func(t *testing.T, name string) {
		id, err := byName.address(name)
		if err != nil || !id.Equal(keys.fromName(name)) {
			t.Fatalf("without AddressableByID, %q: %v, %v", name, id, err)
		}
		id, err = byID.address(name)
		hexID, isID := strings.CutPrefix(name, IDPrefix)
		switch {
		case !isID:
			if err != nil || !id.Equal(keys.fromName(name)) {
				t.Fatalf("%q is a name: %v, %v", name, id, err)
			}
		case err != nil:
			if !errors.Is(err, ErrInvalidID) {
				t.Fatalf("%q: %v, want ErrInvalidID", name, err)
			}
		case id.String() != hexID || id.IsZero():
			t.Fatalf("%q addresses %v", name, id)
		}
	})
}
