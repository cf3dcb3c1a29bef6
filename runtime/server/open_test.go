package server_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	app := server.App{Name: "t", Setup: func(rt *object.Runtime, s *server.Server) error { return nil }}
	h, err := server.Open(app, dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("healthz: %d", rec.Code)
	}
	if _, err := server.Open(app, dir); !errors.Is(err, object.ErrLocked) {
		t.Fatalf("second Open on the same data dir: %v, want ErrLocked", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	h2, err := server.Open(app, dir)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	h2.Close()
	failing := server.App{Name: "t", Setup: func(*object.Runtime, *server.Server) error { return errors.New("boom") }}
	if _, err := server.Open(failing, dir); err == nil || err.Error() != "setup: boom" {
		t.Fatalf("failing setup: %v", err)
	}
	if h3, err := server.Open(app, dir); err != nil {
		t.Fatalf("a failed Open left the data dir locked: %v", err)
	} else {
		h3.Close()
	}
}
