package object_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Registry refuses names already taken, after recording the attempt.
type Registry struct{ st *object.State }

var errTaken = object.NewError("taken", "that name is taken").WithStatus(http.StatusConflict)

type claim struct {
	Name string
	Fail string // "app", "app-rollback" or "plain"
}

var claimName = object.NewMethod("claim", func(r *Registry, ctx context.Context, c claim) (bool, error) {
	if err := r.st.Storage().Put("attempt:"+c.Name, []byte("1")); err != nil {
		return false, err
	}
	switch c.Fail {
	case "app":
		return false, fmt.Errorf("claiming %s: %w", c.Name, errTaken) // wrapped: still an application error
	case "app-rollback":
		return false, errTaken.WithRollback()
	case "plain":
		return false, errors.New("disk on fire")
	}
	return true, nil
})

func registerRegistry(t *testing.T, rt *objecttest.Runtime) (*object.Namespace[Registry], *atomic.Int64) {
	t.Helper()
	var activations atomic.Int64
	ns, err := object.Register(rt.Runtime, "registry", func(ctx context.Context, st *object.State) (*Registry, error) {
		activations.Add(1)
		return &Registry{st}, nil
	}, object.Methods(claimName))
	if err != nil {
		t.Fatal(err)
	}
	return ns, &activations
}

// TestApplicationErrorKeepsTurn pins issue 15 (application errors): every error a
// method returned rolled the turn back, reset the instance and counted as a failed
// turn, so apps could not refuse a request cheaply and had to classify errors by
// substring. Now an *Error reaches the caller as an equal *Error (code, message,
// status) while the turn commits and the instance stays; with Rollback, or for a plain
// error, the turn is rolled back and the instance rebuilt.
func TestApplicationErrorKeepsTurn(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	ns, activations := registerRegistry(t, rt)
	ctx := context.Background()
	stub := ns.GetByName("r")
	if _, err := claimName.Call(ctx, stub, claim{Name: "warm"}); err != nil {
		t.Fatal(err)
	}
	failedBefore := rt.Stats().FailedTurns

	_, err := claimName.Call(ctx, stub, claim{Name: "a", Fail: "app"})
	ae, ok := object.AsError(err)
	if !ok || !errors.Is(err, errTaken) || ae.Code != "taken" || ae.Status != http.StatusConflict || ae.Message != "that name is taken" {
		t.Fatalf("application error reached the caller as %#v (%v)", err, err)
	}
	if ae == errTaken {
		t.Fatal("the caller shares the object's error value; it must receive a copy, as across processes")
	}
	if got := rt.KV(t, "registry", stub.ID())["attempt:a"]; got != "1" {
		t.Errorf("the turn that returned an application error did not commit (attempt:a = %q)", got)
	}
	if n := activations.Load(); n != 1 {
		t.Errorf("the instance was reset by an application error (%d activations)", n)
	}
	if d := rt.Stats().FailedTurns - failedBefore; d != 0 {
		t.Errorf("an application error counted as %d failed turns", d)
	}

	for _, c := range []struct{ fail, key string }{{"app-rollback", "attempt:b"}, {"plain", "attempt:c"}} {
		before := activations.Load()
		_, err := claimName.Call(ctx, stub, claim{Name: c.key[len("attempt:"):], Fail: c.fail})
		if c.fail == "app-rollback" && !errors.Is(err, errTaken) {
			t.Errorf("%s: caller got %v, want the application error", c.fail, err)
		}
		if c.fail == "plain" && (err == nil || err.Error() != "disk on fire") {
			t.Errorf("%s: caller got %v", c.fail, err)
		}
		if got, ok := rt.KV(t, "registry", stub.ID())[c.key]; ok {
			t.Errorf("%s: the turn's write survived (%q)", c.fail, got)
		}
		if _, err := claimName.Call(ctx, stub, claim{Name: "after-" + c.fail}); err != nil {
			t.Fatal(err)
		}
		if activations.Load() != before+1 {
			t.Errorf("%s: the instance was not rebuilt (%d activations, want %d)", c.fail, activations.Load(), before+1)
		}
	}
}

// TestApplicationErrorOverHTTP pins issue 15 (the one HTTP mapping): an application
// error becomes its status and a JSON body with its code and message; a plain error
// shows nothing of itself.
func TestApplicationErrorOverHTTP(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	ns, _ := registerRegistry(t, rt)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, err := claimName.Call(r.Context(), ns.GetByName("r"), claim{Name: r.URL.Query().Get("name"), Fail: r.URL.Query().Get("fail")})
		object.ReplyJSON(w, map[string]bool{"ok": ok}, err)
	}))
	defer srv.Close()
	for _, c := range []struct {
		query  string
		status int
		body   string
	}{
		{"?name=x", 200, `{"ok":true}`},
		{"?name=y&fail=app", 409, `{"error":"that name is taken","code":"taken"}`},
		{"?name=z&fail=plain", 500, `{"error":"internal error"}`},
	} {
		resp, err := http.Get(srv.URL + c.query)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || string(b) != c.body+"\n" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s (%s), want %d %s", c.query, resp.StatusCode, b, resp.Header.Get("Content-Type"), c.status, c.body)
		}
	}
	if code, msg := object.HTTPStatus(object.NewError("bad", "no")); code != 400 || msg != "no" {
		t.Errorf("an Error without status maps to %d %q, want 400", code, msg)
	}
}

func TestErrorJSON(t *testing.T) {
	b, err := json.Marshal(errTaken)
	if err != nil || string(b) != `{"code":"taken","message":"that name is taken","status":409}` {
		t.Fatalf("%s %v", b, err)
	}
	var back *object.Error
	if err := json.Unmarshal(b, &back); err != nil || !errors.Is(back, errTaken) || back.Status != 409 {
		t.Fatalf("decoded %#v, %v", back, err)
	}
}
