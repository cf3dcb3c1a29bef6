package object_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

type misspelled struct{}

func (*misspelled) OnClosed(ctx context.Context, ws *object.WebSocket, code int, reason string, clean bool) error {
	return nil
}

type wrongSignature struct{}

func (*wrongSignature) OnClose(ctx context.Context, ws *object.WebSocket) error { return nil }

type lowerCase struct{}

func (*lowerCase) Onmessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	return nil
}

type noHandlers struct{ st *object.State }

// TestRegisterChecksHandlers pins issue 15 (checks at registration): a handler with a
// misspelled name or a wrong signature was silently never called, and a schedule set
// by an object with no OnSchedule was stored and failed at fire time. Now Register
// refuses the type, and SetAlarm and Schedule fail at once with ErrNoHandler.
func TestRegisterChecksHandlers(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	for _, c := range []struct {
		name string
		reg  func() error
		want string
	}{
		{"misspelled", func() error {
			_, err := object.Register(rt.Runtime, "a", func(context.Context, *object.State) (*misspelled, error) { return &misspelled{}, nil })
			return err
		}, "did you mean OnClose"},
		{"wrong signature", func() error {
			_, err := object.Register(rt.Runtime, "b", func(context.Context, *object.State) (*wrongSignature, error) { return &wrongSignature{}, nil })
			return err
		}, "wrong signature"},
		{"case", func() error {
			_, err := object.Register(rt.Runtime, "c", func(context.Context, *object.State) (*lowerCase, error) { return &lowerCase{}, nil })
			return err
		}, "did you mean OnMessage"},
	} {
		if err := c.reg(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Register gave %v, want an error saying %q", c.name, err, c.want)
		}
	}
	ns, err := object.Register(rt.Runtime, "plain", func(ctx context.Context, st *object.State) (*noHandlers, error) { return &noHandlers{st}, nil })
	if err != nil {
		t.Fatal(err)
	}
	err = ns.RunLocal(context.Background(), ns.GetByName("x"), func(ctx context.Context, o *noHandlers) error {
		if err := o.st.SetAlarm(time.Now().Add(time.Hour)); !errors.Is(err, object.ErrNoHandler) {
			t.Errorf("SetAlarm without an Alarm handler: %v, want ErrNoHandler", err)
		}
		if err := o.st.Schedule("tick", object.Every(time.Minute), nil); !errors.Is(err, object.ErrNoHandler) {
			t.Errorf("Schedule without OnSchedule: %v, want ErrNoHandler", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
