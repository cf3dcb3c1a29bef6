package object_test

import (
	"errors"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// FuzzParseSpec checks that any text either fails with ErrBadSpec or gives a spec
// whose String parses back to the same spec, and that Cron never panics.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		"at 2030-01-01T00:00:00Z", "after 90s", "every 5m", "every 1ms", "cron */5 * * * *",
		"cron 0 30 9 * * MON-FRI", "cron @hourly", "cron @every 1h30m", "cron CRON_TZ=Europe/Paris 0 9 * * *",
		"cron 0 0 30 2 *", "cron TZ=", "cron 61 * * * *", "every -1s", "at yesterday", "", "cron", "every 0s",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := object.ParseSpec(s)
		if err != nil {
			if !errors.Is(err, object.ErrBadSpec) {
				t.Fatalf("ParseSpec(%q) = %v, not ErrBadSpec", s, err)
			}
			return
		}
		if sp.Err() != nil {
			t.Fatalf("ParseSpec(%q) succeeded with invalid spec: %v", s, sp.Err())
		}
		again, err := object.ParseSpec(sp.String())
		if err != nil || again.String() != sp.String() {
			t.Fatalf("ParseSpec(%q).String() = %q does not round-trip: %q, %v", s, sp.String(), again.String(), err)
		}
		_ = object.Cron(s).Err()
		_ = object.Every(time.Duration(len(s))).Err()
	})
}
