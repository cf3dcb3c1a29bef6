package server

import (
	"os"
	"path/filepath"
	"testing"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestDefaultMemoryLimit: the soft limit Main sets without GOMEMLIMIT (issue 14,
// finding 3) is 3/4 of the tightest cgroup memory.max on the process's path, else of
// the machine's memory, else none.
func TestDefaultMemoryLimit(t *testing.T) {
	const meminfo = "MemTotal:       16384000 kB\nMemFree:         1000 kB\n"
	for _, c := range []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"cgroup parent is tightest", map[string]string{
			"proc/self/cgroup":             "0::/a/b\n",
			"sys/fs/cgroup/a/b/memory.max": "max\n",
			"sys/fs/cgroup/a/memory.max":   "1073741824\n",
			"sys/fs/cgroup/memory.max":     "4294967296\n",
			"proc/meminfo":                 meminfo,
		}, 805306368},
		{"own cgroup", map[string]string{
			"proc/self/cgroup":         "0::/\n",
			"sys/fs/cgroup/memory.max": "2147483648\n",
			"proc/meminfo":             meminfo,
		}, 1610612736},
		{"no cgroup limit: machine memory", map[string]string{
			"proc/self/cgroup":           "12:memory:/x\n0::/x\n",
			"sys/fs/cgroup/x/memory.max": "max\n",
			"proc/meminfo":               meminfo,
		}, 16384000 << 10 * 3 / 4},
		{"nothing known", map[string]string{}, 0},
	} {
		if got := defaultMemoryLimit(writeTree(t, c.files)); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if l := defaultMemoryLimit(""); l <= 0 {
		t.Errorf("this machine: %d, want its memory's 3/4", l)
	}
}
