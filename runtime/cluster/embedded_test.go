package cluster

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
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
