package object

import (
	"testing"
	"time"
)

// TestMetricsKeepTheBusiest: the per-object table holds at most max entries; a new
// object replaces the one with the fewest turns, and a forgotten object leaves it.
func TestMetricsKeepTheBusiest(t *testing.T) {
	var om objectMetrics
	om.init(4)
	key := func(i int) wakeKey { k := wakeKey{ns: "n"}; k.id[0] = byte(i); return k }
	now := time.Now()
	for i := range 4 {
		for range 10 + i { // object i: 10+i batches of one turn
			om.record(key(i), "", now, batchUsage{turns: 1})
		}
	}
	om.record(key(9), "", now, batchUsage{turns: 1}) // replaces object 0 (10 turns)
	if _, ok := om.m[key(0)]; ok || len(om.m) != 4 {
		t.Fatalf("after a fifth object: %d entries, object 0 kept %v; want 4 without it", len(om.m), ok)
	}
	om.record(key(8), "", now, batchUsage{turns: 1}) // replaces object 9 (1 turn)
	if _, ok := om.m[key(9)]; ok {
		t.Fatal("the least busy object (1 turn) was kept")
	}
	om.forget(key(2))
	om.record(key(7), "", now, batchUsage{turns: 1}) // a free place: nothing replaced
	for _, i := range []int{1, 3, 7, 8} {
		if _, ok := om.m[key(i)]; !ok {
			t.Fatalf("object %d is missing; entries %d", i, len(om.m))
		}
	}
	if len(om.byTurns) != len(om.m) {
		t.Fatalf("heap holds %d entries, the table %d", len(om.byTurns), len(om.m))
	}
}

// BenchmarkMetricsNewObject is the cost of a new object's first batch in a full
// table (every object written once, as bench-objects does).
func BenchmarkMetricsNewObject(b *testing.B) {
	var om objectMetrics
	om.init(defaultMetricsObjects)
	now := time.Now()
	i := 0
	for b.Loop() {
		k := wakeKey{ns: "n"}
		k.id[0], k.id[1], k.id[2] = byte(i), byte(i>>8), byte(i>>16)
		om.record(k, "", now, batchUsage{turns: 1})
		i++
	}
}
