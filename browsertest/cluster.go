package browsertest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/mxschmitt/playwright-go"
)

// ClusterEnv names the environment variable that runs every browser test against a
// cluster: WARREN_E2E_CLUSTER=3 makes [Harness.Serve] start three in-process nodes
// of the app (package clustertest: three embedded NATS servers, one cluster) and
// [Harness.ServeBinary] three processes of the binary (objecttest.StartCluster),
// and gives each user an entry node of its own, in turn (the first user n1, the
// second n2, ...): the user's browser reaches the server's URL through a proxy that
// sends every connection for a node's address to that user's node, so the pages
// keep the URL and origin the test gave them while their requests and WebSockets
// enter the cluster by different nodes. Tests need no change: the Server that
// Serve returns (and URL) is n1's. Unset, empty or 0: one server, as always.
const ClusterEnv = "WARREN_E2E_CLUSTER"

// clusterSize is ClusterEnv's value, 0 for none.
func clusterSize() (int, error) {
	v := os.Getenv(ClusterEnv)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n == 1 || n == 2 || n > 9 {
		return 0, fmt.Errorf("%s=%q: want a node count from 3 to 9 (or 0 for one server)", ClusterEnv, v)
	}
	return n, nil
}

// entryProxy is an HTTP proxy for one browser context: a connection (CONNECT
// tunnel, which Chromium uses for WebSockets, or a plain proxied request) for one
// of the cluster's node addresses goes to entry instead; any other goes where it
// was sent. The Host header stays the one the page sent, so the node sees the
// page's own origin.
type entryProxy struct {
	entry string
	nodes map[string]bool
	srv   *http.Server
	ln    net.Listener
	rp    *httputil.ReverseProxy

	mu      sync.Mutex
	tunnels map[net.Conn]struct{}
}

func startEntryProxy(entry string, nodes []string) (*entryProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &entryProxy{entry: entry, nodes: map[string]bool{}, ln: ln, tunnels: map[net.Conn]struct{}{}}
	for _, n := range nodes {
		p.nodes[n] = true
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = p.target(pr.In.URL.Host)
			pr.Out.Host = pr.In.Host
		},
		Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext},
		ErrorLog:  nil,
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

// proxy is what a browser context is configured with.
func (p *entryProxy) proxy() *playwright.Proxy {
	return &playwright.Proxy{Server: "http://" + p.ln.Addr().String()}
}

func (p *entryProxy) target(hostport string) string {
	if p.nodes[hostport] {
		return p.entry
	}
	return hostport
}

func (p *entryProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		if r.URL.Host == "" {
			http.Error(w, "browsertest proxy: not a proxy request", http.StatusBadRequest)
			return
		}
		p.rp.ServeHTTP(w, r)
		return
	}
	up, err := net.DialTimeout("tcp", p.target(r.Host), 5*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		return
	}
	p.track(conn, up)
	conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	go func() {
		io.Copy(up, brw) // what the client sent after the CONNECT may be buffered
		up.(*net.TCPConn).CloseWrite()
	}()
	io.Copy(conn, up)
	conn.Close()
	up.Close()
	p.untrack(conn, up)
}

func (p *entryProxy) track(conns ...net.Conn) {
	p.mu.Lock()
	for _, c := range conns {
		p.tunnels[c] = struct{}{}
	}
	p.mu.Unlock()
}

func (p *entryProxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	for _, c := range conns {
		delete(p.tunnels, c)
	}
	p.mu.Unlock()
}

// close stops the proxy and cuts its tunnels.
func (p *entryProxy) close() {
	p.srv.Close()
	p.mu.Lock()
	for c := range p.tunnels {
		c.Close()
	}
	p.mu.Unlock()
}
