package scenario

import (
	"testing"

	"github.com/warrenhq/warren/loadtest/internal/payload"
)

func TestRegistry(t *testing.T) {
	for _, n := range Names() {
		s, err := Lookup(n)
		if err != nil || s.Name != n || s.URL == "" || s.Summary == "" {
			t.Errorf("%s: %+v %v", n, s, err)
		}
		if _, err := payload.Lookup(s.Payload); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if _, err := Lookup("nope"); err == nil {
		t.Error("unknown scenario found")
	}
}
