package clusterchaos

import (
	"testing"
	"time"
)

var t0 = time.Unix(1000, 0)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func add(obj, elem string, call, ret int, o Outcome) Op {
	return Op{Object: obj, Kind: Add, Elem: elem, Call: at(call), Return: at(ret), Outcome: o, Served: "n1"}
}

func read(obj string, call, ret int, set ...string) Op {
	return Op{Object: obj, Kind: Read, Call: at(call), Return: at(ret), Outcome: OK, Set: set, Served: "n1"}
}

func TestCheckSetFindsLossAndFailedPresent(t *testing.T) {
	ops := []Op{
		add("a", "x", 0, 10, OK),
		add("a", "y", 0, 10, OK),            // lost
		add("a", "z", 0, 10, Failed),        // present anyway
		add("a", "w", 0, 10, Indeterminate), // present: allowed
		add("a", "v", 0, 10, Indeterminate), // absent: allowed
	}
	r := CheckSet(ops, map[string][]string{"a": {"x", "z", "w", "u"}})
	if r.Acked != 2 || r.Lost != 1 || r.FailedPresent != 1 || r.Indeterminate != 2 || r.IndetPresent != 1 || r.Unknown != 1 {
		t.Fatalf("%+v", r)
	}
	if r := CheckSet(ops, nil); r.Lost != 0 || r.Unverified != 2 {
		t.Fatalf("an object with no final state: %+v", r)
	}
	if r := CheckSet(ops[:1], map[string][]string{"a": {"x"}}); r.Lost+r.FailedPresent+r.Unknown != 0 {
		t.Fatalf("a clean history: %+v", r)
	}
}

func TestFailoversMeasureFromTheFault(t *testing.T) {
	ops := []Op{
		add("a", "x", 0, 10, OK),
		{Object: "b", Kind: Read, Call: at(0), Return: at(10), Outcome: OK, Served: "n2"},
		{Object: "a", Kind: Add, Elem: "y", Call: at(120), Return: at(2500), Outcome: OK, Served: "n3"}, // first after the fault on n1, done 2.4 s after it
		add("a", "z", 3000, 3010, OK),
		{Object: "b", Kind: Read, Call: at(200), Return: at(210), Outcome: OK, Served: "n2"}, // not n1's
		add("c", "x", 0, 10, OK),
		add("c", "y", 300, 5000, OK), // served by n1 again first: no failover of c
		{Object: "c", Kind: Read, Call: at(5100), Return: at(5110), Outcome: OK, Served: "n2"},
	}
	got := Failovers(ops, []Fault{{Kind: "kill", Node: "n1", Start: at(100)}})
	if len(got) != 1 || got[0] != 2400*time.Millisecond {
		t.Fatalf("failovers %v, want [2.4s]", got)
	}
	if p := Percentile([]time.Duration{3, 1, 2, 4}, 50); p != 2 {
		t.Fatalf("p50 %v", p)
	}
}

func epochRec(key string, seq, epoch uint64, node string, ms int) LogRecord {
	return LogRecord{Key: key, Seq: seq, Kind: KindEpoch, Epoch: epoch, Node: node, Time: at(ms)}
}

func framesRec(key string, seq, epoch uint64, ms int) LogRecord {
	return LogRecord{Key: key, Seq: seq, Kind: 'F', Epoch: epoch, Time: at(ms)}
}

func TestDecodeRecord(t *testing.T) {
	// EPOCH 7 by "n2", as runtime/cluster's encodeEpoch lays it out.
	data := []byte{1, 'E', 0, 0, 0, 0, 0, 0, 0, 7, 0, 2, 'n', '2'}
	r, err := DecodeRecord("k", 3, at(0), data)
	if err != nil || r.Kind != KindEpoch || r.Epoch != 7 || r.Node != "n2" || r.Seq != 3 {
		t.Fatalf("%+v %v", r, err)
	}
	// The same in version 2: commit time, base and flags (17 bytes) before the name.
	v2 := append([]byte{2, 'E', 0, 0, 0, 0, 0, 0, 0, 7}, make([]byte, 17)...)
	r, err = DecodeRecord("k", 3, at(0), append(v2, 0, 2, 'n', '2'))
	if err != nil || r.Kind != KindEpoch || r.Epoch != 7 || r.Node != "n2" {
		t.Fatalf("version 2: %+v %v", r, err)
	}
	for _, bad := range [][]byte{nil, {2, 'E', 0, 0, 0, 0, 0, 0, 0, 7}, {3, 'E', 0, 0, 0, 0, 0, 0, 0, 7}, {1, 'E', 0, 0, 0, 0, 0, 0, 0, 7, 0, 9, 'n'}, {1, 'X', 0, 0, 0, 0, 0, 0, 0, 7}} {
		if _, err := DecodeRecord("k", 1, at(0), bad); err == nil {
			t.Errorf("%v decoded", bad)
		}
	}
}

func TestCheckLogFindsAnOldEpochAfterANewerOne(t *testing.T) {
	good := []LogRecord{epochRec("a", 1, 5, "n1", 0), framesRec("a", 2, 5, 1), epochRec("a", 4, 9, "n2", 2), framesRec("a", 7, 9, 3),
		epochRec("b", 3, 6, "n3", 0)}
	if r := CheckLog(good); r.Regressions != 0 || r.Objects != 2 || r.Records != 5 || r.Epochs != 3 {
		t.Fatalf("a clean log: %+v", r)
	}
	zombie := append(good, framesRec("a", 8, 5, 4)) // n1's append after n2's epoch
	if r := CheckLog(zombie); r.Regressions != 1 {
		t.Fatalf("a zombie's frames: %+v", r)
	}
	if r := CheckLog(append(good, good[0])); r.Regressions != 0 {
		t.Fatalf("a record captured twice: %+v", r)
	}
}

func TestCheckServedFindsTwoServingInstances(t *testing.T) {
	recs := []LogRecord{epochRec("a", 1, 5, "n1", 0), epochRec("a", 4, 9, "n2", 1000)}
	served := []Served{
		{Node: "n1", Key: "a", Start: at(10), End: at(20)},     // n1's epoch
		{Node: "n2", Key: "a", Start: at(1010), End: at(1020)}, // n2's
		{Node: "n1", Key: "a", Start: at(990), End: at(1500)},  // began before n2's epoch: the lease-read window
	}
	pause := []Fault{{Kind: "pause", Node: "n1", Start: at(995), End: at(1400)}}
	r := CheckServed(served, recs, pause)
	if r.Batches != 3 || r.Violations != 0 || r.Window != 1 || r.ZombieWindow != 1 || r.Unchecked != 0 {
		t.Fatalf("%+v", r)
	}
	late := append(served, Served{Node: "n1", Key: "a", Start: at(1100), End: at(1110)}) // after n2 began
	if r := CheckServed(late, recs, pause); r.Violations != 1 {
		t.Fatalf("a zombie serving: %+v", r)
	}
	if r := CheckServed([]Served{{Node: "n3", Key: "a", Start: at(5), End: at(6)}}, recs, nil); r.Unchecked != 1 || r.Violations != 0 {
		t.Fatalf("a batch of a node with no epoch seen: %+v", r)
	}
}
