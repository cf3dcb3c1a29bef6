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

func TestLinearizableFindsStaleRead(t *testing.T) {
	ok := []Op{
		add("a", "x", 0, 10, OK),
		read("a", 20, 30, "x"),
		add("b", "y", 0, 10, Indeterminate), // may take effect late...
		read("b", 20, 30),
		read("b", 40, 50, "y"), // ...so this is fine
		read("a", 5, 8),        // concurrent with the add: may miss it
	}
	if v, u := Linearizable(ok, time.Second); len(v) != 0 || len(u) != 0 {
		t.Fatalf("violations %v, unknown %v in a linearizable history", v, u)
	}
	stale := append(ok, read("a", 40, 50)) // x acknowledged at 10, gone at 40
	if v, _ := Linearizable(stale, time.Second); len(v) != 1 || v[0] != "a" {
		t.Fatalf("violations %v, want [a]", v)
	}
	lostThenBack := []Op{ // a read sees y, a later one does not: never linearizable
		add("c", "y", 0, 100, Indeterminate), read("c", 10, 20, "y"), read("c", 30, 40),
	}
	if v, _ := Linearizable(lostThenBack, time.Second); len(v) != 1 {
		t.Fatalf("violations %v, want [c]", v)
	}
}

func TestFailoversMeasureFromTheFault(t *testing.T) {
	ops := []Op{
		add("a", "x", 0, 10, OK),
		{Object: "b", Kind: Read, Call: at(0), Return: at(10), Outcome: OK, Served: "n2"},
		add("a", "y", 120, 2500, OK), // first after the fault on n1, done 2.4 s after it
		add("a", "z", 3000, 3010, OK),
		{Object: "b", Kind: Read, Call: at(200), Return: at(210), Outcome: OK, Served: "n2"}, // not n1's
	}
	got := Failovers(ops, []Fault{{Kind: "kill", Node: "n1", Start: at(100)}})
	if len(got) != 1 || got[0] != 2400*time.Millisecond {
		t.Fatalf("failovers %v, want [2.4s]", got)
	}
	if p := Percentile([]time.Duration{3, 1, 2, 4}, 50); p != 2 {
		t.Fatalf("p50 %v", p)
	}
}
