package clustertest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// counter answers how often it was called.
type counter struct{ st *object.State }

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, _, _ := object.GetJSON[int](c.st.Storage(), "hits")
	n++
	object.PutJSON(c.st.Storage(), "hits", n)
	json.NewEncoder(w).Encode(map[string]any{"hits": n})
}

func counterApp(dir string) (http.Handler, error) {
	return server.Open(server.App{Name: "counter", Setup: func(rt *object.Runtime, s *server.Server) error {
		ns, err := object.Register(rt, "counter", func(ctx context.Context, st *object.State) (*counter, error) {
			return &counter{st: st}, nil
		})
		if err != nil {
			return err
		}
		return s.Mount(ns)
	}}, dir)
}

func hits(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Post(url, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v struct{ Hits int }
	if resp.StatusCode != 200 || json.Unmarshal(b, &v) != nil {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	return v.Hits
}

// Three in-process nodes of an app opened with server.Open are one cluster: every
// object has one instance, whichever node a request enters by, and a node that
// restarts joins again.
func TestStartMakesOneCluster(t *testing.T) {
	c := Start(t, counterApp, 3)
	defer c.Close()
	want := 0
	for round := range 2 {
		for _, n := range c.Nodes {
			want++
			if got := hits(t, n.URL+"/parties/counter/one"); got != want {
				t.Fatalf("round %d via %s: hits %d, want %d (not one instance)", round, n.Addr, got, want)
			}
		}
		c.Nodes[0].Restart()
	}
}

// An AppFunc that does not open its app through server.Open would serve alone:
// Start's check refuses it.
func TestAppThatDoesNotJoinIsRefused(t *testing.T) {
	lone := func(dir string) (http.Handler, error) { return server.Open(server.App{Name: "lone"}, dir+"/elsewhere") }
	_, err := (&countingCluster{}).check(lone)(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "did not join the cluster") {
		t.Fatalf("err %v, want the AppFunc refused", err)
	}
}
