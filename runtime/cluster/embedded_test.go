package cluster

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// An embedded server fsyncs every write, and a configuration file that does not ask
// for it (another interval, or none: the default is two minutes) is refused before
// anything starts. Jepsen's NATS 2.12.1 analysis lost acknowledged writes with the
// default.
func TestEmbeddedServerRequiresSyncAlways(t *testing.T) {
	for _, s := range sharedCluster(t).servers {
		if !s.SyncAlways() {
			t.Fatalf("server %s runs without SyncAlways", s.ns.Name())
		}
	}
	for name, conf := range map[string]string{
		"interval": "jetstream { sync_interval: 2m }\n",
		"default":  "jetstream { max_mem: 64MB }\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "nats.conf")
			if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := StartServer(ServerConfig{Name: "unsafe", StoreDir: dir, ConfigFile: file})
			if !errors.Is(err, ErrUnsafeServer) {
				if s != nil {
					s.Shutdown()
				}
				t.Fatalf("got %v, want ErrUnsafeServer", err)
			}
		})
	}
	t.Run("always", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "nats.conf")
		if err := os.WriteFile(file, []byte("jetstream { sync_interval: always }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := StartServer(ServerConfig{Name: "safe", StoreDir: dir, ConfigFile: file})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Shutdown()
		if !s.SyncAlways() {
			t.Fatal("SyncAlways off")
		}
	})
}

// A port another socket holds makes StartServer fail at once with the server's
// reason; it waited out ReadyTimeout and said only "not ready" (CI saw "nats server
// s2 not ready after 1m0s" under load).
func TestStartServerFailsAtOnceOnAPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	_, err = StartServer(ServerConfig{Name: "busy", StoreDir: t.TempDir(), ClusterPort: l.Addr().(*net.TCPAddr).Port,
		Routes: []string{l.Addr().String()}, ReadyTimeout: 30 * time.Second})
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("started on a port in use: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("failed after %v, not at once", d)
	}
}

// A loopback cluster whose route port was taken before its server bound it starts
// again on other ports.
func TestLoopbackClusterStartsAgainWhenAPortIsTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	calls := 0
	pickPorts = func(n int) ([]int, error) {
		calls++
		ports, err := freePorts(n)
		if calls == 1 && err == nil {
			ports[1] = taken // as if another socket got it in between
		}
		return ports, err
	}
	defer func() { pickPorts = freePorts }()
	servers, err := StartLoopbackCluster(t.TempDir(), []string{"lb1", "lb2", "lb3"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		defer s.Shutdown()
	}
	if calls != 2 {
		t.Fatalf("picked ports %d times, want 2", calls)
	}
	join(t, &testCluster{servers: servers}, 2, testConfig("lb-node")) // its R3 buckets need all three
}
