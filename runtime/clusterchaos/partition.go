package clusterchaos

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// CgroupEnv names the cgroup (v2) directory under which a node process puts itself,
// in a child named after the node, before it opens any socket ([JoinCgroup]): the
// partitioner tells the nodes' loopback packets apart by their socket's cgroup.
const CgroupEnv = "WARREN_CHAOS_CGROUP"

// Partitioner cuts one node off from the others on loopback with iptables rules
// (in a chain of its own) that drop TCP packets from one node's sockets to the
// other nodes' listening ports (NATS routes, HTTP), matched by the cgroup each node
// process joined. The harness's own connections (clients) still reach every node.
// It needs root, iptables with the cgroup match, and a cgroup v2 hierarchy.
type Partitioner struct {
	root  string // cgroup v2 mount point
	dir   string // root/<name>: the nodes' cgroups are its children
	chain string
}

// NewPartitioner prepares the cgroup and the iptables chain, or says why it cannot.
func NewPartitioner(name string) (*Partitioner, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("not root: cannot change iptables or cgroups")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil, errors.New("iptables is not installed")
	}
	root, err := cgroup2Root()
	if err != nil {
		return nil, err
	}
	p := &Partitioner{root: root, dir: filepath.Join(root, name), chain: "WARREN-CHAOS-" + strconv.Itoa(os.Getpid())}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", p.dir, err)
	}
	if err := p.iptables("-N", p.chain); err != nil {
		os.Remove(p.dir)
		return nil, err
	}
	if err := p.iptables("-I", "OUTPUT", "-j", p.chain); err != nil {
		p.iptables("-X", p.chain)
		os.Remove(p.dir)
		return nil, err
	}
	if err := p.probe(); err != nil {
		return nil, errors.Join(err, p.Close())
	}
	return p, nil
}

// probe checks, before any node starts, what a partition will need: a process can
// be moved into a child cgroup of dir (a node does it first thing, and exits when it
// cannot) and iptables matches packets by that cgroup (the xt_cgroup module).
func (p *Partitioner) probe() error {
	dir := filepath.Join(p.dir, "probe")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("cgroup %s: %w", dir, err)
	}
	defer os.Remove(dir)
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		return fmt.Errorf("start a probe process: %w", err)
	}
	err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(child.Process.Pid)), 0o644)
	child.Process.Kill()
	child.Wait()
	if err != nil {
		return fmt.Errorf("cannot move a process into cgroup %s: %w", dir, err)
	}
	if err := p.iptables("-A", p.chain, "-p", "tcp", "-m", "cgroup", "--path", p.rel("probe"), "-j", "RETURN"); err != nil {
		return fmt.Errorf("iptables cannot match by cgroup: %w", err)
	}
	return p.Heal()
}

// Dir is the cgroup directory to pass to the nodes in [CgroupEnv].
func (p *Partitioner) Dir() string { return p.dir }

// Cut drops every packet between node and each of others: a node is its cgroup name
// and listening ports.
func (p *Partitioner) Cut(node PartNode, others []PartNode) error {
	for _, o := range others {
		for _, pair := range [][2]PartNode{{node, o}, {o, node}} {
			from, to := pair[0], pair[1]
			for _, port := range to.Ports {
				if err := p.iptables("-A", p.chain, "-p", "tcp", "-m", "cgroup", "--path", p.rel(from.Name),
					"--dport", strconv.Itoa(port), "-j", "DROP"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Heal removes every rule Cut added.
func (p *Partitioner) Heal() error { return p.iptables("-F", p.chain) }

// Dropped returns how many packets the rules of the last Cut dropped so far: 0
// after the nodes tried to talk means the cut had no effect.
func (p *Partitioner) Dropped() (uint64, error) {
	out, err := exec.Command("iptables", "-w", "-L", p.chain, "-v", "-x", "-n").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("iptables -L %s: %v: %s", p.chain, err, strings.TrimSpace(string(out)))
	}
	var n uint64
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && f[2] == "DROP" {
			c, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("iptables -L %s: bad counter in %q", p.chain, line)
			}
			n += c
		}
	}
	return n, nil
}

// Close heals and removes the chain and the cgroups (the nodes must have exited).
func (p *Partitioner) Close() error {
	err := errors.Join(p.Heal(), p.iptables("-D", "OUTPUT", "-j", p.chain), p.iptables("-X", p.chain))
	entries, _ := os.ReadDir(p.dir)
	for _, e := range entries {
		if e.IsDir() {
			os.Remove(filepath.Join(p.dir, e.Name()))
		}
	}
	return errors.Join(err, os.Remove(p.dir))
}

func (p *Partitioner) rel(node string) string {
	r, _ := filepath.Rel(p.root, filepath.Join(p.dir, node))
	return r
}

func (p *Partitioner) iptables(args ...string) error {
	out, err := exec.Command("iptables", append([]string{"-w"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// PartNode is a node as the partitioner sees it: its cgroup's name and the ports it
// listens on.
type PartNode struct {
	Name  string
	Ports []int
}

// JoinCgroup puts this process into the cgroup dir/node when dir is set (a node
// process, first thing, so that every socket it opens is matched).
func JoinCgroup(dir, node string) error {
	if dir == "" {
		return nil
	}
	d := filepath.Join(dir, node)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644)
}

// cgroup2Root finds the cgroup v2 hierarchy's mount point.
func cgroup2Root() (string, error) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fs := strings.Fields(s.Text()); len(fs) >= 3 && fs[2] == "cgroup2" {
			return fs[1], nil
		}
	}
	return "", errors.New("no cgroup v2 hierarchy mounted")
}
