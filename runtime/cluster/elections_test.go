package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// childServerEnv carries the ServerConfig (JSON) of a server the test binary runs
// in a child process instead of its tests (TestMain), so that a test can SIGKILL it:
// an in-process Shutdown hands its leaderships over first, a kill does not.
const childServerEnv = "WARREN_TEST_CHILD_SERVER"

// runChildServer runs the server childServerEnv describes until the process is
// killed, saying "ready" on stdout once it accepts connections.
func runChildServer(spec string) {
	var cfg ServerConfig
	if err := json.Unmarshal([]byte(spec), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if _, err := StartServer(cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("ready")
	select {}
}

// The streams a SIGKILLed server led have a new leader within a few seconds: the
// embedded servers' Raft timers are half nats-server's defaults (elections.go), so a
// follower calls an election 2-4.5 s after the last heartbeat instead of 4-9 s. The
// failovers left over issue 19's 10 s target were objects waiting for such an
// election. Six R3 streams are led by a child process's server, which is killed; the
// median time to their new leaders was 2.4-3.3 s with these timers and 4.8-6.9 s
// with the defaults (3 runs each).
func TestKilledServersStreamsElectSoon(t *testing.T) {
	t.Parallel() // its own three servers; seconds of waiting
	dir := t.TempDir()
	ports, err := freePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, p := range ports {
		routes = append(routes, net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	}
	config := func(i int) ServerConfig {
		return ServerConfig{Name: fmt.Sprintf("elect%d", i+1), StoreDir: filepath.Join(dir, strconv.Itoa(i)),
			ClusterPort: ports[i], Routes: routes, ClusterName: "elections", ReadyTimeout: time.Minute}
	}
	victim := config(2)
	spec, _ := json.Marshal(victim)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childServerEnv+"="+string(spec))
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	var local []*Server
	for i := range 2 {
		s, err := StartServer(config(i))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Shutdown()
		local = append(local, s)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("child server: %q, %v", line, err)
	}
	nc, err := local[0].Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var names []string
	for i := range 6 {
		name := fmt.Sprintf("elect%d", i)
		cfg := jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}, Replicas: 3}
		for { // the cluster forms its meta group first
			cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
			_, err = js.CreateStream(cctx, cfg)
			ccancel()
			if err == nil || ctx.Err() != nil {
				break
			}
			t.Logf("stream %s not created yet: %v", name, err)
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		names = append(names, name)
	}
	// Every stream led by the victim: a leader steps down to it when asked.
	stepdown := fmt.Sprintf(`{"placement":{"preferred":%q}}`, victim.Name)
	for now := leaders(ctx, js, names); slices.ContainsFunc(now, func(l string) bool { return l != victim.Name }); now = leaders(ctx, js, names) {
		if ctx.Err() != nil {
			t.Fatalf("leaders %v, want all %s", now, victim.Name)
		}
		for i, l := range now {
			if l != "" && l != victim.Name {
				nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+names[i], []byte(stepdown), time.Second)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}

	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	elected := make([]time.Duration, len(names))
	for left := len(names); left > 0; {
		if ctx.Err() != nil {
			t.Fatalf("no new leader within %v: %v", time.Since(killed), elected)
		}
		for i, l := range leaders(ctx, js, names) {
			if elected[i] == 0 && l != "" && l != victim.Name {
				elected[i] = time.Since(killed)
				left--
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	slices.Sort(elected)
	median := elected[len(elected)/2]
	t.Logf("new leaders %v after the kill, median %v", elected, median.Round(time.Millisecond))
	if median > 4250*time.Millisecond {
		t.Fatalf("median election %v after the kill, want under 4.25 s (nats-server's default timers: 4-9 s)", median.Round(time.Millisecond))
	}
}

// leaders reports each stream's leader ("" when it has none or did not answer).
func leaders(ctx context.Context, js jetstream.JetStream, names []string) []string {
	out := make([]string, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			rctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
			defer cancel()
			if s, err := js.Stream(rctx, name); err == nil {
				if info := s.CachedInfo(); info.Cluster != nil {
					out[i] = info.Cluster.Leader
				}
			}
		})
	}
	wg.Wait()
	return out
}
