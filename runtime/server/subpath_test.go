package server_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Shelf routes its own paths with an http.ServeMux.
type Shelf struct {
	st  *object.State
	mux *http.ServeMux
}

func newShelf(ctx context.Context, st *object.State) (*Shelf, error) {
	s := &Shelf{st: st, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "root") })
	s.mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "item "+r.PathValue("id")+" "+r.URL.Query().Get("q"))
	})
	s.mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		name, _ := s.st.ID().Name()
		object.WriteJSON(w, http.StatusCreated, map[string]string{"shelf": name})
	})
	return s, nil
}

func (s *Shelf) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// TestObjectSeesPathBelowParty pins issue 15 (HTTP): an object received the full
// /parties/<ns>/<name>/... path, so every app hand-rolled a sub-router that split it.
// Now the host cuts the path to what follows the name, and http.ServeMux patterns
// (methods, wildcards, {$}) work inside an object, names with escaped slashes too.
func TestObjectSeesPathBelowParty(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	ns, err := object.Register(rt.Runtime, "shelf", newShelf)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveEndpoints(t, rt, ns)
	for _, c := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/parties/shelf/a", 200, "root"},
		{"GET", "/parties/shelf/a/", 200, "root"},
		{"GET", "/parties/shelf/a/items/7?q=blue", 200, "item 7 blue"},
		{"GET", "/parties/shelf/a%2Fb/items/x%20y", 200, "item x y "},
		{"POST", "/parties/shelf/a%2Fb/items", 201, `{"shelf":"a/b"}` + "\n"},
		{"DELETE", "/parties/shelf/a/items", 405, ""},
		{"GET", "/parties/shelf/a/nothing", 404, ""},
	} {
		req, _ := http.NewRequest(c.method, "http://"+addr+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || (c.body != "" && string(b) != c.body) {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.path, resp.StatusCode, b, c.status, c.body)
		}
	}
}
