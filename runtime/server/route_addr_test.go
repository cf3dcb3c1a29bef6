package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// fromAddr returns a dial function whose connections leave from ip (a loopback
// address other than 127.0.0.1 stands for another client machine).
func fromAddr(ip string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return d.DialContext
}

// The owner of an object sees each client's own address through the entry node's
// proxy, for HTTP requests and WebSockets alike, not the entry node's: a per-address
// budget (MaxConnsPerIP, an app's rate limit by server.ClientAddr) stays per client
// in cluster mode. Two clients (127.0.0.2 and 127.0.0.3) enter through node a; the
// object is on b, whose connections from a come from 127.0.0.1.
func TestRoutingKeepsEachClientsAddress(t *testing.T) {
	o := newOwners()
	o.set("bee", "b")
	nodes := startCluster(t, o, nil, "a", "b")
	a := nodes["a"]
	for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
		client := &http.Client{Transport: &http.Transport{DialContext: fromAddr(ip)}}
		resp, err := client.Get("http://" + a.addr + "/parties/echo/bee")
		if err != nil {
			t.Fatal(err)
		}
		var s seen
		err = json.NewDecoder(resp.Body).Decode(&s)
		resp.Body.Close()
		if err != nil || s.Node != "b" || !strings.HasPrefix(s.RemoteAddr, ip+":") {
			t.Fatalf("HTTP from %s via a: %+v, %v; want served by b with RemoteAddr %s", ip, s, err, ip)
		}
		dialer := &websocket.Dialer{NetDialContext: fromAddr(ip)}
		c, resp, err := dialer.Dial(fmt.Sprintf("ws://%s/parties/echo/bee?_pk=%s", a.addr, ip), nil)
		if err != nil {
			t.Fatalf("dial from %s via a: %v (%v)", ip, err, resp)
		}
		if got := roundTrip(t, c, "addr?"); got != "b:"+ip {
			t.Fatalf("socket from %s via a: the object saw %q, want %q", ip, got, "b:"+ip)
		}
		c.Close()
	}
}
