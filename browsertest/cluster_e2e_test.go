//go:build e2e

package browsertest

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// hitCounter counts the requests and socket messages it was sent.
type hitCounter struct{ st *object.State }

func (c *hitCounter) hit() int {
	n, _, _ := object.GetJSON[int](c.st.Storage(), "hits")
	n++
	object.PutJSON(c.st.Storage(), "hits", n)
	return n
}

func (c *hitCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	json.NewEncoder(w).Encode(c.hit())
}

func (c *hitCounter) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	b, _ := json.Marshal(c.hit())
	return ws.SendText(string(b))
}

// countPage POSTs to the counter, then opens a socket to it and sends one message;
// it shows both answers.
const countPage = `<!doctype html><title>count</title><p id=http></p><p id=ws></p><script>
fetch('/parties/count/one', {method: 'POST'}).then(r => r.text()).then(t => {
  document.getElementById('http').textContent = t.trim();
  const ws = new WebSocket('ws://' + location.host + '/parties/count/one');
  ws.onopen = () => ws.send('hit');
  ws.onmessage = e => { document.getElementById('ws').textContent = e.data; };
});
</script>`

func countApp(dir string) (http.Handler, error) {
	return server.Open(server.App{Name: "count", Setup: func(rt *object.Runtime, s *server.Server) error {
		ns, err := object.Register(rt, "count", func(ctx context.Context, st *object.State) (*hitCounter, error) {
			return &hitCounter{st: st}, nil
		})
		if err != nil {
			return err
		}
		s.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(countPage))
		}))
		return s.Mount(ns)
	}}, dir)
}

// With ClusterEnv set, Serve starts a cluster and every user enters it by a node
// of its own: three users on the same page of n1's URL reach one object (its hits
// count up across them, over HTTP and WebSockets), and two of the three users'
// requests and sockets were proxied by their entry node to the object's owner.
func TestClusterEntryNodes(t *testing.T) {
	t.Setenv(ClusterEnv, "3")
	h := New(t, Config{Timeout: 20 * time.Second})
	srv := h.Serve(countApp)
	nodes := h.Nodes()
	if len(nodes) != 3 || nodes[0] != srv {
		t.Fatalf("Nodes: %d nodes, n1 %v the served one", len(nodes), len(nodes) > 0 && nodes[0] == srv)
	}
	for i, name := range []string{"alice", "bob", "carol"} {
		p := h.NewUser(name)
		if _, err := p.Goto("/"); err != nil {
			t.Fatal(err)
		}
		for sel, want := range map[string]int{"#http": 2*i + 1, "#ws": 2*i + 2} {
			if err := h.Expect.Locator(p.Locator(sel)).ToHaveText(strconv.Itoa(want)); err != nil {
				t.Fatalf("%s (entry node n%d): %s: %v", name, i+1, sel, err)
			}
		}
	}
	var routed, sockets float64
	for _, n := range nodes {
		r, _ := n.Metric("warren_routed_requests_total")
		s, _ := n.Metric("warren_routed_sockets_open")
		routed += r
		sockets += s
	}
	// Each non-owner entry node proxied its user's POST and socket upgrade.
	if routed != 4 || sockets != 2 {
		t.Fatalf("routed requests %v, proxied sockets open %v; want 4 and 2 (two users entered by another node than the owner)", routed, sockets)
	}
}
