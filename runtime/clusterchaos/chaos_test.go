//go:build chaos

package clusterchaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
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

// leaseTTL is the nodes' lease: short, so a run fails over many times in minutes.
const leaseTTL = 3 * time.Second

func TestMain(m *testing.M) {
	if os.Getenv(nodeEnv) == "1" {
		server.Main(setApp())
		return
	}
	os.Exit(m.Run())
}

// setApp is the app under test: a namespace "set" whose objects are grow-only sets
// over HTTP. POST ?e=<elem> adds elem (answered once durable); GET lists the
// elements, one a line. Every answer carries the serving node's name in Chaos-Node.
func setApp() server.App {
	node := flagValue(os.Args[1:], "node")
	return server.App{
		Name:    "clusterchaos",
		Addr:    "127.0.0.1:0",
		Cluster: clustermode.Cluster{LeaseTTL: leaseTTL},
		Setup: func(rt *object.Runtime, s *server.Server) error {
			ns, err := object.Register(rt, "set", func(ctx context.Context, st *object.State) (*setObject, error) {
				return &setObject{st: st, node: node}, nil
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
}

func (o *setObject) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Chaos-Node", o.node)
	switch r.Method {
	case http.MethodPost:
		e := r.URL.Query().Get("e")
		if e == "" || len(e) > 64 || strings.ContainsAny(e, "\n") {
			http.Error(w, "want ?e=<element>", http.StatusBadRequest)
			return
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
// and reads on 24 objects through random nodes, and a nemesis that alternately
// SIGKILLs a node (restarted on the same data dirs) and SIGSTOPs one for twice the
// lease (then SIGCONT: a zombie), WARREN_CHAOS_KILLS times each (default 2;
// WARREN_CHAOS_SEED replays a run's choice of nodes and timings). After
// healing it checks the history: no acknowledged add lost, no failed add present,
// each object linearizable, every database intact, no process left behind.
func TestChaosCluster(t *testing.T) {
	rep, ops := runCluster(t, clusterRun{faults: chaostest.KillsFromEnv(2)})
	if rep.Set.Lost > 0 || rep.Set.FailedPresent > 0 || rep.Set.Unknown > 0 {
		t.Errorf("set checker: %d acknowledged adds lost, %d failed adds present, %d unknown elements: %q",
			rep.Set.Lost, rep.Set.FailedPresent, rep.Set.Unknown, rep.Set.Examples)
	}
	if len(rep.Violations) > 0 {
		t.Errorf("histories of %v are not linearizable", rep.Violations)
	}
	if rep.Set.Acked == 0 {
		t.Errorf("no add was acknowledged: the workload did not run")
	}
	if rep.BadDBs > 0 || rep.Databases == 0 {
		t.Errorf("%d of %d databases failed integrity_check", rep.BadDBs, rep.Databases)
	}
	if rep.Unavailable > 0 {
		t.Errorf("%d objects answered no read through any node after healing", rep.Unavailable)
	}
	if rep.Leftover > 0 {
		t.Errorf("%d node processes still alive after the run", rep.Leftover)
	}
	_ = ops
}

// TestChaosClusterCatchesLoss runs the same harness with a lossy client that counts
// every add it sent as acknowledged, whatever the answer (an "ack before commit"):
// the set checker must report losses, so the harness is known to be able to fail.
func TestChaosClusterCatchesLoss(t *testing.T) {
	rep, _ := runCluster(t, clusterRun{faults: 1, lossy: true})
	if rep.Set.Lost == 0 && len(rep.Violations) == 0 {
		t.Errorf("a client acknowledging adds before their commit went unnoticed: %+v", rep.Set)
	}
}

type clusterRun struct {
	faults int  // kills, and as many pauses
	lossy  bool // the client reports every add sent as OK
}

const (
	objects = 24
	clients = 6
)

func runCluster(t *testing.T, run clusterRun) (Report, []Op) {
	start := time.Now()
	t.Setenv(nodeEnv, "1")
	seed, _ := strconv.ParseUint(os.Getenv("WARREN_CHAOS_SEED"), 10, 64) // to replay a run's faults
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("clusterchaos: %d kills + %d pauses, lease %v, seed %d, lossy %v, load %s", run.faults, run.faults, leaseTTL, seed, run.lossy, LoadAverage())
	nodes := objecttest.StartCluster(t, os.Args[0], 3, "-log-level", "warn")
	names := []string{"n1", "n2", "n3"}
	pids := map[int]bool{}
	for _, n := range nodes {
		pids[n.PID()] = true
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

	// The nemesis: one fault at a time (two of the three NATS servers always run), a
	// random node, kills and pauses alternating, 2-4 s of calm between.
	rng := rand.New(rand.NewPCG(seed, 99))
	time.Sleep(3 * time.Second)
	for i := range 2 * run.faults {
		i := i
		n := rng.IntN(len(nodes))
		f := Fault{Node: names[n], PID: nodes[n].PID(), Start: time.Now()}
		if i%2 == 0 {
			f.Kind = "kill"
			nodes[n].Kill()
			time.Sleep(time.Second)
			nodes[n].Start()
			pids[nodes[n].PID()] = true
		} else {
			f.Kind = "pause"
			nodes[n].Pause()
			time.Sleep(2 * leaseTTL)
			nodes[n].Resume()
		}
		f.End = time.Now()
		h.Fault(f)
		t.Logf("fault %d: %s %s (pid %d) for %v", i+1, f.Kind, f.Node, f.PID, f.End.Sub(f.Start).Round(10*time.Millisecond))
		time.Sleep(2*time.Second + time.Duration(rng.Int64N(int64(2*time.Second))))
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
		// object was found unavailable (a run with many would take minutes).
		budget := 30 * time.Second
		if unavailable > 0 {
			budget = 5 * time.Second
		}
		deadline := time.Now().Add(budget)
		for i, n := range nodes {
			op, ok := finalRead(hc, n.URL, names[i], o, deadline)
			if !ok {
				t.Errorf("final read of %s through %s: no answer within %v (%s)", o, names[i], budget, op.Err)
				if first == nil && i == len(nodes)-1 {
					unavailable++
				}
				continue
			}
			h.Record(op)
			if first == nil {
				first, final[o] = op.Set, op.Set
			} else if strings.Join(first, ",") != strings.Join(op.Set, ",") {
				t.Errorf("final reads of %s disagree: %d elements through n1, %d through %s", o, len(first), len(op.Set), names[i])
			}
		}
	}
	ops := h.Ops()
	rep := Report{Objects: objects, Ops: len(ops), Set: CheckSet(ops, final), Unavailable: unavailable}
	for _, f := range h.Faults() {
		if f.Kind == "kill" {
			rep.Kills++
		} else {
			rep.Pauses++
		}
	}
	rep.Violations, rep.Unchecked = Linearizable(ops, 20*time.Second)
	rep.Failover = map[string][]time.Duration{}
	for _, f := range h.Faults() {
		rep.Failover[f.Kind] = append(rep.Failover[f.Kind], Failovers(ops, []Fault{f})...)
	}

	for _, n := range nodes {
		n.Stop()
	}
	for _, n := range nodes {
		dbs, bad := chaostest.IntegrityCheck(n.DataDir)
		rep.Databases += dbs
		rep.BadDBs += len(bad)
		for _, b := range bad {
			t.Errorf("%s", b)
		}
	}
	for pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			rep.Leftover++
			syscall.Kill(pid, syscall.SIGKILL) // ours: started by this harness
		}
	}
	rep.Elapsed, rep.Load = time.Since(start), LoadAverage()
	t.Logf("clusterchaos result:\n%s", rep.Table())
	if len(rep.Set.Examples) > 0 {
		t.Logf("examples: %q", rep.Set.Examples)
	}
	return rep, ops
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
		do(hc, nodes[n].URL, &op)
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

// do performs op through base and records its times and outcome: 200 is OK; 421,
// 429, 503 and other 4xx say the operation had no effect (Failed), as does a refused
// connection; anything else (500, 502, 504, a timeout, a reset) is Indeterminate.
func do(hc *http.Client, base string, op *Op) {
	u := base + objecttest.PartyPath("set", op.Object)
	method := http.MethodGet
	if op.Kind == Add {
		method, u = http.MethodPost, u+"?e="+op.Elem
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
		op.Outcome, op.Served = OK, resp.Header.Get("Chaos-Node")
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
		do(hc, base, &op)
		if op.Outcome == OK {
			return op, true
		}
		if time.Now().After(deadline) {
			return op, false
		}
		time.Sleep(200 * time.Millisecond)
	}
}
