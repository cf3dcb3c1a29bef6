package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// A read whose request was lost is sent again after rereadEvery instead of waiting
// out the request timeout (30 s here). Here the request is lost with the TCP
// connection it was in; a stream whose leader was killed drops requests the same
// way until its followers elect another one, 4 to 9 s later, and every claim and
// Locate behind such a read waited for its timeout (failovers of 30 s and more).
func TestLostReadIsSentAgain(t *testing.T) {
	t.Parallel() // waits seconds, as TestRuntimeZombieCommitRefused does
	c := sharedCluster(t)
	proxy := startPausingProxy(t, c.servers[0].ClientURL())
	nc, err := nats.Connect(proxy.url(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	n, err := Join(testContext(t), nc, testConfig("lost-read"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	proxy.setPaused(true)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, _, err := readClaim(context.Background(), n.a.owners, objectKey("ledger", "lost-read"))
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // the request is held in the proxy
	proxy.cut()                        // and lost with its connection; the client reconnects
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("read after its request was lost: %v", err)
		}
		t.Logf("answered %v after the first request", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("read still unanswered 10 s after its request was lost")
	}
}
