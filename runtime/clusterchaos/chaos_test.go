//go:build chaos

package clusterchaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/chaostest"
	"github.com/warrenhq/warren/runtime/clustermode"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
	"github.com/warrenhq/warren/runtime/server"
)

// nodeEnv, set to "1", makes this test binary run the set app as a cluster node
// (the helper-process pattern: objecttest.StartCluster starts os.Args[0]).
const nodeEnv = "WARREN_CLUSTERCHAOS_NODE"

// leaseTTL is the nodes' lease: short by default, so a run fails over many times in
// minutes; WARREN_CHAOS_LEASE (a duration, e.g. 10s: the cluster's default) sets
// another, for the harness and its nodes alike.
var leaseTTL = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("WARREN_CHAOS_LEASE")); err == nil && d > 0 {
		return d
	}
	return 3 * time.Second
}()

// downTime is how long a killed node stays down before its restart: 1 s, or
// WARREN_CHAOS_DOWN (a duration). Longer than the failover (e.g. twice the lease), the
// failover figures cannot be cut short by the restarted node taking its objects back.
var downTime = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("WARREN_CHAOS_DOWN")); err == nil && d > 0 {
		return d
	}
	return time.Second
}()

func TestMain(m *testing.M) {
	if os.Getenv(nodeEnv) == "1" {
		// Before any socket is opened: the partitioner matches the node's packets by
		// its cgroup.
		if err := JoinCgroup(os.Getenv(CgroupEnv), flagValue(os.Args[1:], "node")); err != nil {
			fmt.Fprintln(os.Stderr, "clusterchaos node: join cgroup:", err)
			os.Exit(1)
		}
		server.Main(setApp())
		return
	}
	os.Exit(m.Run())
}

// setApp is the app under test: a namespace "set" whose objects are grow-only sets
// over HTTP. POST ?e=<elem> adds elem (answered once durable; with &hold the turn
// waits before the write until the harness releases it: the nemesis freezes a node
// in the middle of it); GET lists the elements, one a line. Every answer carries the
// serving node's name in Chaos-Node and the object's cluster key in Chaos-Key. The
// node is instrumented (clusterchaos.Instrument): it writes its NATS URL and every
// batch it served into its data directory.
func setApp() server.App {
	node := flagValue(os.Args[1:], "node")
	return server.App{
		Name:    "clusterchaos",
		Addr:    "127.0.0.1:0",
		Cluster: Instrument(clustermode.Cluster{LeaseTTL: leaseTTL}, flagValue(os.Args[1:], "data")),
		// A held write outlives a pause of up to a minute and more (the default 30 s
		// would time it out, and the zombie would never try to commit).
		Runtime: object.Config{TurnTimeout: 3 * time.Minute},
		Setup: func(rt *object.Runtime, s *server.Server) error {
			ns, err := object.Register(rt, "set", func(ctx context.Context, st *object.State) (*setObject, error) {
				return &setObject{st: st, node: node, key: ObjectKey(st.Namespace(), st.ID().String())}, nil
			})
			if err != nil {
				return err
			}
			return s.Mount(ns)
		},
	}
}

type setObject struct {
	st   *object.State
	node string
	key  string
}

func (o *setObject) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Chaos-Node", o.node)
	w.Header().Set("Chaos-Key", o.key)
	switch r.Method {
	case http.MethodPost:
		e := r.URL.Query().Get("e")
		if e == "" || len(e) > 64 || strings.ContainsAny(e, "\n") {
			http.Error(w, "want ?e=<element>", http.StatusBadRequest)
			return
		}
		if r.URL.Query().Has("hold") {
			holdUntilReleased(e)
		}
		if err := o.st.Storage().Put("e/"+e, []byte{1}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok\n")
	case http.MethodGet:
		es, err := o.st.Storage().List(object.ListOptions{Prefix: "e/"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		for _, e := range es {
			io.WriteString(w, strings.TrimPrefix(e.Key, "e/")+"\n")
		}
	default:
		http.Error(w, "use GET or POST", http.StatusMethodNotAllowed)
	}
}

// releaseFile is the file (in the node's data directory) whose creation releases a
// held add of elem.
func releaseFile(dataDir, elem string) string { return filepath.Join(dataDir, "chaos-release-"+elem) }

// holdUntilReleased waits (at most 3 minutes) until the harness releases the held
// add of elem.
func holdUntilReleased(elem string) {
	f := releaseFile(flagValue(os.Args[1:], "data"), elem)
	for end := time.Now().Add(3 * time.Minute); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(f); err == nil {
			return
		}
	}
}

// flagValue returns the value of -name in args ("-name v" or "-name=v").
func flagValue(args []string, name string) string {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// TestChaosCluster runs three node processes of the set app, 6 clients doing adds
// and reads on 24 objects through random nodes, and a nemesis that takes turns with
// the fault kinds of WARREN_CHAOS_KINDS (default kill,pause,leader,partition),
// WARREN_CHAOS_KILLS of each (default 2; WARREN_CHAOS_SEED replays a run's choice of
// nodes and timings): SIGKILL a node (restarted on its data dirs); SIGSTOP one in
// the middle of a write for twice the lease and until another node took the object
// over (then SIGCONT: a zombie whose commit must be refused); SIGKILL the
// node whose NATS server leads an object's log stream; cut a node off from the
// others for twice the lease (root and iptables only; skipped, with the reason,
// otherwise). After healing it checks the history and the logs: no acknowledged add
// lost, no failed add present, each object linearizable (decided: a check that timed
// out fails the run), epochs never going back in any object's log, no two instances
// serving one object at once, every database intact, no process or goroutine left
// behind. WARREN_CHAOS_HISTORY=<file> writes the run's operations and faults there
// as JSON.
func TestChaosCluster(t *testing.T) {
	rep := runCluster(t, clusterRun{faults: chaostest.KillsFromEnv(2), kinds: kindsFromEnv()})
	if rep.Set.Lost > 0 || rep.Set.FailedPresent > 0 || rep.Set.Unknown > 0 {
		t.Errorf("set checker: %d acknowledged adds lost, %d failed adds present, %d unknown elements: %q",
			rep.Set.Lost, rep.Set.FailedPresent, rep.Set.Unknown, rep.Set.Examples)
	}
	if len(rep.Lin.Violations) > 0 {
		t.Errorf("histories of %v are not linearizable: %q", rep.Lin.Violations, rep.Lin.Examples)
	}
	if len(rep.Lin.Unknown) > 0 {
		t.Errorf("linearizability of %v undecided: porcupine timed out", rep.Lin.Unknown)
	}
	if rep.Set.Acked == 0 {
		t.Errorf("no add was acknowledged: the workload did not run")
	}
	if rep.Log.Regressions > 0 || rep.Log.Records == 0 || rep.BadRecords > 0 {
		t.Errorf("log checker: %d records of an old epoch after a newer one (%q), %d records read, %d undecodable",
			rep.Log.Regressions, rep.Log.Examples, rep.Log.Records, rep.BadRecords)
	}
	if rep.Serve.Violations > 0 || rep.Serve.Batches == 0 {
		t.Errorf("serve checker: %d batches served by a superseded instance (%q) of %d", rep.Serve.Violations, rep.Serve.Examples, rep.Serve.Batches)
	}
	if rep.BadDBs > 0 || rep.Databases == 0 {
		t.Errorf("%d of %d databases failed integrity_check", rep.BadDBs, rep.Databases)
	}
	if rep.Unavailable > 0 {
		t.Errorf("%d objects answered no read through any node after healing", rep.Unavailable)
	}
	if rep.Leftover > 0 || rep.Goroutines > 0 {
		t.Errorf("%d node processes and %d goroutines of the harness still alive after the run", rep.Leftover, rep.Goroutines)
	}
}

// TestChaosClusterCatchesLoss runs the same harness with a lossy client that counts
// every add it sent as acknowledged, whatever the answer (an "ack before commit"):
// the set checker must report losses, so the harness is known to be able to fail.
func TestChaosClusterCatchesLoss(t *testing.T) {
	rep := runCluster(t, clusterRun{faults: 1, kinds: []string{"kill", "pause"}, lossy: true})
	if rep.Set.Lost == 0 && len(rep.Lin.Violations) == 0 {
		t.Errorf("a client acknowledging adds before their commit went unnoticed: %+v", rep.Set)
	}
}

// TestChaosClusterCatchesUnfenced runs nodes with fencing turned off (the
// deliberate bug: runtime/cluster's chaos-tagged build honours WARREN_CHAOS_UNFENCED,
// so a zombie's commit is neither refused by its lapsed lease nor by the log) and
// pauses, each in the middle of a write on an object the paused node owns, until one
// such write was acknowledged (at most 3): the
// log checker must find the zombie's records after the new owner's epoch, and the
// serve checker the zombie serving after the new owner began.
func TestChaosClusterCatchesUnfenced(t *testing.T) {
	t.Setenv("WARREN_CHAOS_UNFENCED", "1")
	rep := runCluster(t, clusterRun{faults: 3, kinds: []string{"pause"}, calmPause: true, kill: true, untilHeldOK: true})
	if rep.HeldOK == 0 {
		t.Fatalf("no zombie's held write was acknowledged in %d pauses: the deliberate bug was not exercised", rep.Kinds["pause"])
	}
	if rep.Log.Regressions == 0 {
		t.Errorf("log checker: a zombie's appends after a newer epoch went unnoticed: %+v", rep.Log)
	}
	if rep.Serve.Violations == 0 {
		t.Errorf("serve checker: a zombie serving after the new owner began went unnoticed: %+v", rep.Serve)
	}
	t.Logf("caught: %d log regressions (%q), %d batches of a superseded instance (%q), %d acknowledged adds lost, %d objects not linearizable",
		rep.Log.Regressions, rep.Log.Examples, rep.Serve.Violations, rep.Serve.Examples, rep.Set.Lost, len(rep.Lin.Violations))
}

type clusterRun struct {
	faults int      // faults of each kind
	kinds  []string // kill, pause, leader, partition: the nemesis takes turns
	lossy  bool     // the client reports every add sent as OK
	// calmPause: see nemesis.calmPause.
	calmPause bool
	// kill: the cluster is broken on purpose: SIGKILL the nodes at the end instead
	// of stopping them gracefully (they may not shut down in time), and log what the
	// harness finds besides the checkers' results instead of failing.
	kill bool
	// untilHeldOK: no more faults once a held add was acknowledged.
	untilHeldOK bool
}

// faultKinds are the nemesis's fault kinds, in the order it takes turns.
var faultKinds = []string{"kill", "pause", "leader", "partition"}

// kindsFromEnv returns WARREN_CHAOS_KINDS (comma-separated), default every kind.
func kindsFromEnv() []string {
	v := os.Getenv("WARREN_CHAOS_KINDS")
	if v == "" {
		return faultKinds
	}
	return strings.Split(v, ",")
}

const (
	objects = 24
	clients = 6
)

// nemesis makes the faults of one run on the harness's nodes.
type nemesis struct {
	t       *testing.T
	nodes   []*objecttest.Server
	names   []string
	h       *History
	pids    map[int]bool
	capture *Capture
	part    *Partitioner // nil: partitions are skipped
	rng     *rand.Rand
	keys    func() map[string]string // object -> key, as the nodes answered
	// calmPause: pause only a node that leads neither the nodes' nor the owners'
	// bucket, so the other nodes keep their leases and take the frozen node's
	// objects over within about the lease.
	calmPause bool
	heldOK    atomic.Int32 // held adds acknowledged
	// restartFailures: restarts of a killed node that failed (it did not rejoin).
	restartFailures int
}

// leadsNoBucket returns a node (n if it fits) whose NATS server leads neither the
// nodes' lease bucket nor the owners' bucket.
func (m *nemesis) leadsNoBucket(n int) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	busy := map[string]bool{}
	for _, st := range []string{"KV_warren_nodes", "KV_warren_owners"} {
		l, err := m.capture.Leader(ctx, st)
		if err != nil {
			m.t.Logf("leader of %s: %v", st, err)
		}
		busy[l] = true
	}
	for k := range m.nodes {
		if j := (n + k) % len(m.nodes); !busy[m.names[j]] {
			return j
		}
	}
	return n
}

// fault makes one fault of kind and returns it, or false when it was skipped.
func (m *nemesis) fault(kind string, i int) (Fault, bool) {
	n := m.rng.IntN(len(m.nodes))
	switch kind {
	case "leader":
		// The node whose NATS server leads a random object's log stream.
		keys := m.keys()
		objs := make([]string, 0, len(keys))
		for o := range keys {
			objs = append(objs, o)
		}
		slices.Sort(objs)
		if len(objs) == 0 {
			return Fault{}, false
		}
		o := objs[m.rng.IntN(len(objs))]
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		leader, err := m.capture.StreamLeader(ctx, keys[o])
		cancel()
		if n = slices.Index(m.names, leader); err != nil || n < 0 {
			m.t.Logf("fault %d: leader of %s's log stream unknown (%v %q): skipped", i, o, err, leader)
			return Fault{}, false
		}
		m.t.Logf("fault %d: %s leads the log stream of %s", i, leader, o)
	case "partition":
		if m.part == nil {
			return Fault{}, false
		}
	case "pause":
		if m.calmPause {
			n = m.leadsNoBucket(n)
		}
	}
	var leaders string
	if kind == "kill" || kind == "leader" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		leaders = m.capture.Leaders(ctx)
		cancel()
	}
	f := Fault{Kind: kind, Node: m.names[n], PID: m.nodes[n].PID(), Start: time.Now()}
	switch kind {
	case "kill", "leader":
		m.nodes[n].Kill()
		// Which streams the killed server led, and how long their elections took
		// (issue 19: a failover's time depends on them).
		after := "(not polled: the node is down 2 s or less)"
		if downTime > 2*time.Second {
			after = m.capture.Reelected(m.names[n], f.Start, downTime-time.Second)
		}
		m.t.Logf("fault %d: killing %s; leaders before: %s; after: %s", i, m.names[n], leaders, after)
		if downTime > 2*time.Second {
			// The log capture's lag behind each stream, once the elections are over: a
			// capture that is behind when a new owner rolls a log up misses records.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			m.t.Logf("fault %d: log capture behind %v after the kill: %q", i, time.Since(f.Start).Round(100*time.Millisecond), m.capture.Lag(ctx))
			cancel()
		}
		time.Sleep(downTime - time.Since(f.Start))
		if downTime > 2*time.Second {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			m.t.Logf("fault %d: log capture behind %v after the kill: %q", i, time.Since(f.Start).Round(100*time.Millisecond), m.capture.Lag(ctx))
			cancel()
		}
		// A node that cannot rejoin is an availability failure, not a reason to
		// drop the run's history: it is counted, retried, and the checks still run.
		for try := 1; ; try++ {
			err := m.nodes[n].TryStart()
			if err == nil {
				break
			}
			m.restartFailures++
			msg := err.Error() // ends with the node's whole output: its last lines say why
			if len(msg) > 3000 {
				msg = "..." + msg[len(msg)-3000:]
			}
			m.t.Errorf("fault %d: restart %d of %s failed: %s", i, try, m.names[n], msg)
			if try == 3 {
				m.t.Fatalf("fault %d: %s did not restart 3 times", i, m.names[n])
			}
		}
		m.pids[m.nodes[n].PID()] = true
	case "pause":
		// Freeze the node in the middle of a write to an object it served last, so
		// that the zombie holds a turn whose commit must be refused on waking.
		// It stays frozen twice the lease, and until another node took that object
		// over (JetStream may need a while to elect new leaders; at most 20 s more: past that
		// the zombie's commit is refused by its own lapsed lease alone).
		var obj, heldElem string
		var held <-chan struct{}
		for try := range 5 { // until one is held (an add refused at once holds nothing)
			heldElem = fmt.Sprintf("z%d", i*10+try)
			obj, held = m.heldAdd(n, i*10+try, heldElem)
			time.Sleep(150 * time.Millisecond)
			select {
			case <-held:
				obj = ""
				continue
			default:
			}
			break
		}
		f.Start = time.Now()
		m.nodes[n].Pause()
		time.Sleep(2 * leaseTTL)
		if key := m.keys()[obj]; key != "" {
			wait := 20 * time.Second
			if m.calmPause {
				wait = 60 * time.Second // the zombie must commit after a takeover
			}
			for end := time.Now().Add(wait); !m.capture.TakenOver(key, m.names[n], f.Start) && time.Now().Before(end); {
				time.Sleep(100 * time.Millisecond)
			}
		}
		m.nodes[n].Resume()
		// The zombie carries on with its turn once it serves again (its NATS server
		// rejoined and it holds a new lease), so that a commit it should not make
		// would land: the old activation's commit must still be refused.
		m.waitServing(n, 30*time.Second)
		os.WriteFile(releaseFile(m.nodes[n].DataDir, heldElem), nil, 0o644)
		<-held
	case "partition":
		var others []PartNode
		for j := range m.nodes {
			if j != n {
				others = append(others, m.partNode(j))
			}
		}
		if err := m.part.Cut(m.partNode(n), others); err != nil {
			m.t.Errorf("partition %s: %v", m.names[n], err)
		}
		time.Sleep(2 * leaseTTL)
		// The nodes' routes carry JetStream's heartbeats: a cut that dropped nothing
		// did not partition anything.
		if dropped, err := m.part.Dropped(); err != nil || dropped == 0 {
			m.t.Errorf("partition %s: %d packets dropped (%v): the cut had no effect", m.names[n], dropped, err)
		} else {
			m.t.Logf("fault %d: partition of %s dropped %d packets", i, m.names[n], dropped)
		}
		if err := m.part.Heal(); err != nil {
			m.t.Errorf("heal the partition of %s: %v", m.names[n], err)
		}
	default:
		m.t.Fatalf("unknown fault kind %q (want %v)", kind, faultKinds)
	}
	f.End = time.Now()
	return f, true
}

// heldAdd sends node n an add of elem held inside its turn (until the release file
// appears), on the object n
// served last (the history's latest answer from it), and records it. It returns the
// object ("" when n served nothing yet) and a channel closed when the add completed.
func (m *nemesis) heldAdd(n, i int, elem string) (string, <-chan struct{}) {
	obj := ""
	var last time.Time
	for _, op := range m.h.Ops() {
		if op.Outcome == OK && op.Served == m.names[n] && op.Return.After(last) {
			obj, last = op.Object, op.Return
		}
	}
	done := make(chan struct{})
	if obj == "" {
		close(done)
		return "", done
	}
	go func() {
		defer close(done)
		op := Op{Client: clients + 1 + i, Object: obj, Entry: m.names[n], Kind: Add, Elem: elem}
		do(&http.Client{Timeout: 4*leaseTTL + 90*time.Second}, m.nodes[n].URL, &op, "&hold")
		m.h.Record(op)
		if op.Outcome == OK {
			m.heldOK.Add(1)
		}
		m.t.Logf("fault %d: held add %s of %s on %s: %v %s", i, op.Elem, obj, m.names[n], op.Outcome, op.Err)
	}()
	return obj, done
}

// waitServing waits until node n answers a read (of o00, through itself) with 200.
func (m *nemesis) waitServing(n int, timeout time.Duration) {
	hc := &http.Client{Timeout: 2 * time.Second}
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		op := Op{Object: "o00", Kind: Read}
		if do(hc, m.nodes[n].URL, &op, ""); op.Outcome == OK {
			return
		}
	}
	m.t.Logf("%s does not serve %v after waking", m.names[n], timeout)
}

var listenFlag = regexp.MustCompile(`-cluster-listen\x00[^\x00]*:(\d+)\x00`)

// partNode is node j for the partitioner: its HTTP port and its NATS route port (from
// its command line).
func (m *nemesis) partNode(j int) PartNode {
	pn := PartNode{Name: m.names[j]}
	_, hp, _ := net.SplitHostPort(m.nodes[j].Addr)
	if p, err := strconv.Atoi(hp); err == nil {
		pn.Ports = append(pn.Ports, p)
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", m.nodes[j].PID()))
	if sm := listenFlag.FindSubmatch(cmdline); sm != nil {
		p, _ := strconv.Atoi(string(sm[1]))
		pn.Ports = append(pn.Ports, p)
	} else {
		m.t.Errorf("partition: no -cluster-listen port in %s's command line", m.names[j])
	}
	return pn
}

func runCluster(t *testing.T, run clusterRun) Report {
	start := time.Now()
	goroutines := runtime.NumGoroutine()
	// What the checkers find fails the caller's test; what a run of a deliberately
	// broken cluster breaks besides (unreadable objects, corrupt databases) fails it
	// only when the cluster is meant to be sound.
	problem := t.Errorf
	if run.kill {
		problem = t.Logf
	}
	t.Setenv(nodeEnv, "1")
	seed, _ := strconv.ParseUint(os.Getenv("WARREN_CHAOS_SEED"), 10, 64) // to replay a run's faults
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	var part *Partitioner
	if slices.Contains(run.kinds, "partition") {
		var err error
		if part, err = NewPartitioner(fmt.Sprintf("warren-clusterchaos-%d", os.Getpid())); err != nil {
			t.Logf("clusterchaos: partitions SKIPPED: %v", err)
		} else {
			t.Setenv(CgroupEnv, part.Dir())
			// Registered before the nodes' cleanups, so it runs after them: the
			// cgroups can be removed only once the nodes exited.
			t.Cleanup(func() {
				if err := part.Close(); err != nil {
					t.Errorf("partitioner: %v", err)
				}
			})
		}
	}
	t.Logf("clusterchaos: %d faults of each of %v, lease %v, killed nodes down %v, seed %d, lossy %v, unfenced %q, load %s",
		run.faults, run.kinds, leaseTTL, downTime, seed, run.lossy, os.Getenv("WARREN_CHAOS_UNFENCED"), LoadAverage())
	nodes := objecttest.StartCluster(t, os.Args[0], 3, "-log-level", "warn")
	names := []string{"n1", "n2", "n3"}
	pids := map[int]bool{}
	var urls []string
	for i, n := range nodes {
		pids[n.PID()] = true
		u, err := NATSURL(n.DataDir)
		if err != nil {
			t.Fatalf("%s's NATS URL: %v", names[i], err)
		}
		urls = append(urls, u)
	}
	cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
	capture, err := StartCapture(cctx, urls)
	ccancel()
	if err != nil {
		t.Fatalf("capture the object logs: %v", err)
	}
	objs := make([]string, objects)
	for i := range objs {
		objs[i] = fmt.Sprintf("o%02d", i)
	}
	h := &History{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client(ctx, c, rand.New(rand.NewPCG(seed, uint64(c))), nodes, names, objs, h, run.lossy)
		}()
	}

	// The nemesis: one fault at a time (two of the three NATS servers always run),
	// the kinds taking turns, a random node, 2-4 s of calm between (plus the lease
	// beyond 3 s, so that a failover ends before the next fault).
	m := &nemesis{t: t, nodes: nodes, names: names, h: h, pids: pids, capture: capture, part: part,
		rng: rand.New(rand.NewPCG(seed, 99)), keys: func() map[string]string { return objectKeys(h.Ops()) }, calmPause: run.calmPause}
	time.Sleep(3 * time.Second)
	for i := range run.faults * len(run.kinds) {
		f, ok := m.fault(run.kinds[i%len(run.kinds)], i+1)
		if !ok {
			continue
		}
		h.Fault(f)
		t.Logf("fault %d: %s %s (pid %d) for %v", i+1, f.Kind, f.Node, f.PID, f.End.Sub(f.Start).Round(10*time.Millisecond))
		if run.untilHeldOK && m.heldOK.Load() > 0 {
			break
		}
		time.Sleep(2*time.Second + max(0, leaseTTL-3*time.Second) + time.Duration(m.rng.Int64N(int64(2*time.Second))))
	}
	cancel()
	wg.Wait()

	// Heal: every node runs; wait twice the lease, then read every object from every
	// node. The reads are part of the history too.
	time.Sleep(2 * leaseTTL)
	final := map[string][]string{}
	hc := &http.Client{Timeout: 10 * time.Second}
	unavailable := 0
	for _, o := range objs {
		var first []string
		// The object's reads through every node share a budget: 30 s, 5 s once one
		// object was found unavailable (a run with many would take minutes), or in a
		// deliberately broken cluster (whose availability is not checked).
		budget := 30 * time.Second
		if unavailable > 0 || run.kill {
			budget = 5 * time.Second
		}
		deadline := time.Now().Add(budget)
		for i, n := range nodes {
			op, ok := finalRead(hc, n.URL, names[i], o, deadline)
			if !ok {
				problem("final read of %s through %s: no answer within %v (%s)", o, names[i], budget, op.Err)
				if first == nil && i == len(nodes)-1 {
					unavailable++
				}
				continue
			}
			h.Record(op)
			if first == nil {
				first, final[o] = op.Set, op.Set
			} else if strings.Join(first, ",") != strings.Join(op.Set, ",") {
				problem("final reads of %s disagree: %d elements through n1, %d through %s", o, len(first), len(op.Set), names[i])
			}
		}
	}
	ops := h.Ops()
	rep := Report{Objects: objects, Ops: len(ops), Set: CheckSet(ops, final), Unavailable: unavailable, Kinds: map[string]int{}}
	for _, f := range h.Faults() {
		rep.Kinds[f.Kind]++
	}
	if path := os.Getenv("WARREN_CHAOS_HISTORY"); path != "" { // to check it again offline
		b, _ := json.Marshal(struct {
			Ops    []Op
			Faults []Fault
		}{ops, h.Faults()})
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Logf("write the history: %v", err)
		}
	}
	lstart := time.Now()
	rep.Lin = Linearizable(ops, 20*time.Second)
	t.Logf("linearizability: %d segments (at most %d operations), %d indeterminate adds seen by a read, %d seen by none; %d violations, %d undecided, checked in %v",
		rep.Lin.Segments, rep.Lin.Longest, rep.Lin.Seen, rep.Lin.Dropped, len(rep.Lin.Violations), len(rep.Lin.Unknown), time.Since(lstart).Round(time.Millisecond))
	rep.Failover = map[string][]time.Duration{}
	for i, f := range h.Faults() {
		fo := Failovers(ops, []Fault{f})
		rep.Failover[f.Kind] = append(rep.Failover[f.Kind], fo...)
		slices.Sort(fo)
		t.Logf("failovers of fault %d (%s %s at %s): %v", i+1, f.Kind, f.Node, f.Start.Format("15:04:05.000"), roundAll(fo))
	}

	// The logs, as captured since the start, once the capture caught up with every
	// stream; the batches every node served.
	if behind := capture.CatchUp(30 * time.Second); len(behind) > 0 {
		problem("log capture still behind on %v", behind)
	}
	recs, bad := capture.Records()
	capture.Stop()
	rep.BadRecords = len(bad)
	for _, b := range bad {
		problem("log record: %s", b)
	}
	rep.Log = CheckLog(recs)
	var served []Served
	for i, n := range nodes {
		s, err := ReadServed(names[i], n.DataDir)
		if err != nil {
			problem("%s's serve log: %v", names[i], err)
		}
		served = append(served, s...)
	}
	rep.Serve = CheckServed(served, recs, h.Faults())
	if rep.Serve.First != "" { // the log of the first object served twice, around it
		// Its EPOCH and snapshot records, and the others within 2 s of one of those
		// or of the batch.
		key, at := rep.Serve.First, rep.Serve.FirstStart
		marks := []time.Time{at}
		for _, rec := range recs {
			if rec.Key == key && rec.Kind != 'F' && rec.Kind != 'B' {
				marks = append(marks, rec.Time)
			}
		}
		near := func(t time.Time) bool {
			for _, m := range marks {
				if d := t.Sub(m); d > -2*time.Second && d < 2*time.Second {
					return true
				}
			}
			return false
		}
		var around []string
		for _, rec := range recs {
			if rec.Key == key && rec.Time.After(at.Add(-90*time.Second)) && rec.Time.Before(at.Add(5*time.Second)) &&
				(rec.Kind == KindEpoch || rec.Kind == KindSnap || near(rec.Time)) {
				around = append(around, fmt.Sprintf("%d %c e%d %s %s", rec.Seq, rec.Kind, rec.Epoch, rec.Node, rec.Time.Format("15:04:05.000")))
			}
		}
		t.Logf("log of %.8s from 90 s before its first batch served twice (%s): %q", rep.Serve.First,
			rep.Serve.FirstStart.Format("15:04:05.000"), compactLog(around))
		var first []string
		for _, s := range served {
			if s.Key == rep.Serve.First && s.Start.After(rep.Serve.FirstStart.Add(-90*time.Second)) && s.Start.Before(rep.Serve.FirstStart.Add(2*time.Second)) {
				first = append(first, s.Node+" "+s.Start.Format("15:04:05.000"))
			}
		}
		t.Logf("batches of %.8s served then: %q", rep.Serve.First, compactLog(first))
	}

	// Every node at once, as a cluster is shut down: stopped one after the other, the
	// last one's leave waits out its request timeout, its NATS server alone without a
	// quorum to acknowledge it.
	slow := make([]bool, len(nodes))
	var stops sync.WaitGroup
	for i, n := range nodes {
		if !run.kill {
			stops.Add(1)
			go func() { defer stops.Done(); slow[i] = !stopsWithin(n.PID(), 9*time.Second) }()
		}
	}
	stops.Wait()
	for i, n := range nodes {
		if slow[i] {
			rep.SlowStops++
			problem("%s did not stop within 9 s of SIGTERM (its goroutines, from SIGQUIT, are in its output)", names[i])
		}
		if run.kill {
			n.Kill()
		} else {
			n.Stop()
		}
	}
	if dir := os.Getenv("WARREN_CHAOS_NODELOGS"); dir != "" { // every node's output, to read after a run
		for i, n := range nodes {
			if err := os.WriteFile(filepath.Join(dir, names[i]+".log"), []byte(n.Output()), 0o644); err != nil {
				t.Logf("node log: %v", err)
			}
		}
	}
	for _, n := range nodes {
		dbs, bad := chaostest.IntegrityCheck(n.DataDir)
		rep.Databases += dbs
		rep.BadDBs += len(bad)
		for _, b := range bad {
			problem("%s", b)
		}
	}
	if left := Leftovers(pids); len(left) > 0 {
		rep.Leftover = len(left)
		problem("node processes %v still running after the run (killed now)", left)
	}
	rep.Goroutines = goroutinesLeft(goroutines)
	rep.Elapsed, rep.Load, rep.HeldOK, rep.RestartFailures = time.Since(start), LoadAverage(), int(m.heldOK.Load()), m.restartFailures
	t.Logf("clusterchaos result:\n%s", rep.Table())
	if ex := append(append(append(rep.Set.Examples, rep.Lin.Examples...), rep.Log.Examples...), rep.Serve.Examples...); len(ex) > 0 {
		t.Logf("examples: %q", ex)
	}
	return rep
}

// stopsWithin sends the node process pid SIGTERM (and SIGCONT) and waits until
// it exited; past timeout it sends SIGQUIT, so that the Go runtime writes every
// goroutine's stack to its output and exits, and reports false.
func stopsWithin(pid int, timeout time.Duration) bool {
	signalChild(pid, syscall.SIGTERM)
	signalChild(pid, syscall.SIGCONT)
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if !OurChild(pid) {
			return true
		}
	}
	signalChild(pid, syscall.SIGQUIT)
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end) && OurChild(pid); {
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// goroutinesLeft waits up to 5 s for the harness to be back to before goroutines
// (idle HTTP connections closed) and returns how many more there are.
func goroutinesLeft(before int) int {
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine() - before
		if n <= 0 || time.Now().After(deadline) {
			if n > 0 {
				buf := make([]byte, 1<<16)
				fmt.Fprintf(os.Stderr, "clusterchaos: %d goroutines left:\n%s\n", n, buf[:runtime.Stack(buf, true)])
			}
			return max(n, 0)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// objectKeys maps each object to its cluster key, as the nodes answered it.
func objectKeys(ops []Op) map[string]string {
	keys := map[string]string{}
	for _, op := range ops {
		if op.Key != "" {
			keys[op.Object] = op.Key
		}
	}
	return keys
}

// client runs one client until ctx ends: 60 % adds, 40 % reads, each on a random
// object through a random node, one at a time, ~20 ms apart.
func client(ctx context.Context, id int, rng *rand.Rand, nodes []*objecttest.Server, names, objs []string, h *History, lossy bool) {
	hc := &http.Client{Timeout: 5 * time.Second}
	for seq := 0; ctx.Err() == nil; seq++ {
		n := rng.IntN(len(nodes))
		op := Op{Client: id, Object: objs[rng.IntN(len(objs))], Entry: names[n], Kind: Read}
		if rng.IntN(10) < 6 {
			op.Kind, op.Elem = Add, fmt.Sprintf("c%d-%d", id, seq)
		}
		do(hc, nodes[n].URL, &op, "")
		if lossy && op.Kind == Add {
			op.Outcome = OK
		}
		h.Record(op)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(10+rng.IntN(20)) * time.Millisecond):
		}
	}
}

// do performs op through base (extra: more of an add's query) and records its times and outcome: 200 is OK; 421,
// 429, 503 and other 4xx say the operation had no effect (Failed), as does a refused
// connection; anything else (500, 502, 504, a timeout, a reset) is Indeterminate.
func do(hc *http.Client, base string, op *Op, extra string) {
	u := base + objecttest.PartyPath("set", op.Object)
	method := http.MethodGet
	if op.Kind == Add {
		method, u = http.MethodPost, u+"?e="+op.Elem+extra
	}
	req, _ := http.NewRequest(method, u, nil)
	op.Call = time.Now()
	resp, err := hc.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	op.Return = time.Now()
	switch {
	case err != nil:
		op.Outcome, op.Err = Indeterminate, err.Error()
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" {
			op.Outcome = Failed
		}
	case resp.StatusCode == http.StatusOK:
		op.Outcome, op.Served, op.Key = OK, resp.Header.Get("Chaos-Node"), resp.Header.Get("Chaos-Key")
		if op.Kind == Read {
			op.Set = strings.Fields(string(body))
		}
	case resp.StatusCode == http.StatusMisdirectedRequest, resp.StatusCode == http.StatusTooManyRequests,
		resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode >= 400 && resp.StatusCode < 500:
		op.Outcome, op.Err = Failed, strconv.Itoa(resp.StatusCode)+" "+strings.TrimSpace(string(body))
	default:
		op.Outcome, op.Err = Indeterminate, strconv.Itoa(resp.StatusCode)+" "+strings.TrimSpace(string(body))
	}
}

// finalRead reads o through base until it answers 200, at least once, until deadline.
func finalRead(hc *http.Client, base, name, o string, deadline time.Time) (Op, bool) {
	for {
		op := Op{Client: clients, Object: o, Kind: Read, Entry: name}
		do(hc, base, &op, "")
		if op.Outcome == OK {
			return op, true
		}
		if time.Now().After(deadline) {
			return op, false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// roundAll rounds each duration to 10 ms, for a log line.
func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(10 * time.Millisecond)
	}
	return out
}

// compactLog keeps the first and last 40 lines of ls, for a log line.
func compactLog(ls []string) []string {
	if len(ls) <= 80 {
		return ls
	}
	return append(append(slices.Clone(ls[:40]), fmt.Sprintf("... %d more ...", len(ls)-80)), ls[len(ls)-40:]...)
}
