package engine

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/warrenhq/warren/loadtest/internal/relayserver"
)

// With SenderURL the senders' sockets dial it and the others URL (a cluster's
// non-owner node against its owner): one relay behind two listeners, each counting
// its upgrades, delivers everything.
func TestSenderURLDialsTheSenders(t *testing.T) {
	rs := relayserver.New(relayserver.Options{})
	var onA, onB atomic.Int64
	count := func(n *atomic.Int64) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1); rs.ServeHTTP(w, r) })
	}
	a, b := httptest.NewServer(count(&onA)), httptest.NewServer(count(&onB))
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	cfg := small("ws://" + a.Listener.Addr().String() + "/parties/chat/{room}?_pk={conn}")
	cfg.SenderURL = strings.Replace(cfg.URL, a.Listener.Addr().String(), b.Listener.Addr().String(), 1)
	res := runOK(t, cfg)
	if got := countsOf(res.Messages); got.Delivered != 200 || got.Lost != 0 {
		t.Fatalf("counts %+v, want 200 delivered", got)
	}
	if onA.Load() != 8 || onB.Load() != 2 {
		t.Fatalf("upgrades: %d on URL, %d on SenderURL; want 8 and 2", onA.Load(), onB.Load())
	}
}
