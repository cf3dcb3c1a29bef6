// Command bench-objects writes N distinct objects once each and reports throughput,
// the process's CPU per object and its peak RSS: the cost of many objects on one
// machine. Then, with every object evicted, it activates a random sample of all the
// objects in the data directory one at a time (a read each) and reports the cold
// activation's p50 and p99.
//
//	go run ./internal/cmd/bench-objects -n 100000
//
// With -data and -from, a data directory grows over several runs (objects
// object-FROM to object-FROM+N-1 are written; the sample is drawn from object-0 on).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/warrenhq/warren/runtime/internal/procrss"
	"github.com/warrenhq/warren/runtime/object"
)

type counter struct{ st *object.State }

func main() {
	n := flag.Int("n", 100000, "objects to write")
	workers := flag.Int("workers", 64, "concurrent callers")
	dir := flag.String("data", "", "data directory (default: a temporary one, removed at the end)")
	syncMode := flag.String("sync", "FULL", "SQLite synchronous setting: FULL or NORMAL")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the writing phase to this file")
	memProfile := flag.String("memprofile", "", "write a heap profile (after a GC) at the end of the writing phase to this file")
	from := flag.Int("from", 0, "index of the first object to write (the data directory holds object-0 to object-FROM-1 already)")
	every := flag.Int("every", 50000, "print progress every this many objects")
	cold := flag.Int("cold", 1000, "cold activations to time after the writing phase (0: none)")
	coldProfile := flag.String("coldprofile", "", "write a CPU profile of the cold activations to this file")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "bench-objects")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	rt, err := object.New(object.Config{DataDir: *dir, Synchronous: *syncMode, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	put := object.NewMethod("put", func(c *counter, ctx context.Context, v int) (bool, error) {
		return true, c.st.Storage().Put("v", []byte(strconv.Itoa(v)))
	})
	get := object.NewMethod("get", func(c *counter, ctx context.Context, _ struct{}) (int, error) {
		b, ok, err := c.st.Storage().Get("v")
		if err != nil || !ok {
			return 0, fmt.Errorf("no value stored (%v)", err)
		}
		return strconv.Atoi(string(b))
	})
	ns, err := object.Register(rt, "counter", func(ctx context.Context, st *object.State) (*counter, error) { return &counter{st}, nil }, object.Methods(put, get))
	if err != nil {
		log.Fatal(err)
	}
	var next atomic.Int64
	var peak atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				if r := rss(); r > peak.Load() {
					peak.Store(r)
				}
			}
		}
	}()
	stopProfile := startCPUProfile(*cpuProfile)
	start := time.Now()
	cpu0 := procCPU()
	var wg sync.WaitGroup
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) {
					return
				}
				if _, err := put.Call(context.Background(), ns.GetByName(fmt.Sprint("object-", int64(*from)+i)), int(int64(*from)+i)); err != nil {
					log.Fatal(err)
				}
				if i > 0 && i%int64(*every) == 0 {
					fmt.Fprintf(os.Stderr, "%d objects, %.0f/s, RSS %d MB (%s)\n", i, float64(i)/time.Since(start).Seconds(), rss()>>20, goMemory())
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	cpu := procCPU() - cpu0
	stopProfile()
	close(stop)
	if r := rss(); r > peak.Load() {
		peak.Store(r)
	}
	if *memProfile != "" {
		writeHeapProfile(*memProfile)
	}
	st := rt.Stats()
	fmt.Printf("objects %d  workers %d  synchronous %s  time %.1fs  objects/s %.0f  CPU per object %v  peak RSS %d MB  open databases %d  evictions %d  catalogue waits %d  GOMAXPROCS %d\n",
		*n, *workers, *syncMode, el.Seconds(), float64(*n)/el.Seconds(), cpu/time.Duration(max(*n, 1)), peak.Load()>>20, st.OpenDatabases, st.Evictions, st.CatalogWaits, runtime.GOMAXPROCS(0))
	if *cold > 0 {
		stopProfile := startCPUProfile(*coldProfile)
		coldActivations(rt, ns, get, *from+*n, *cold)
		stopProfile()
	}
}

// startCPUProfile starts a CPU profile written to path (none when path is "") and
// returns what stops it.
func startCPUProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// coldActivations evicts every object, then activates samples objects drawn at random
// from object-0 to object-total-1, one at a time, each with one read, and prints the
// latencies' p50, p99 and maximum, and the process's CPU per activation.
func coldActivations(rt *object.Runtime, ns *object.Namespace[counter], get *object.Method[counter, struct{}, int], total, samples int) {
	rt.EvictIdle(0)
	lat := make([]time.Duration, 0, samples)
	cpu0 := procCPU()
	for range samples {
		i := rand.IntN(total)
		start := time.Now()
		v, err := get.Call(context.Background(), ns.GetByName(fmt.Sprint("object-", i)), struct{}{})
		if err != nil || v != i {
			log.Fatalf("object-%d: read %d, %v", i, v, err)
		}
		lat = append(lat, time.Since(start))
		rt.EvictIdle(0)
	}
	cpu := procCPU() - cpu0
	slices.Sort(lat)
	fmt.Printf("cold activations %d of %d objects on disk  p50 %v  p99 %v  max %v  CPU per activation %v\n", samples, total,
		lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond),
		(cpu / time.Duration(samples)).Round(time.Microsecond))
}

// writeHeapProfile writes the live heap, after a GC, to path, and prints its size.
func writeHeapProfile(path string) {
	runtime.GC()
	fmt.Printf("after a GC: %s\n", goMemory())
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		log.Fatal(err)
	}
}

// goMemory says how much of the RSS is Go's; the rest is SQLite's C heap (modernc's
// allocator) and the binary.
func goMemory() string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return fmt.Sprintf("Go heap in use %d MB, held from the OS %d MB, stacks %d MB, all Go %d MB",
		ms.HeapInuse>>20, (ms.HeapSys-ms.HeapReleased)>>20, ms.StackSys>>20, (ms.Sys-ms.HeapReleased)>>20)
}

// procCPU is the user and system CPU the process used so far.
func procCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rss returns the process's resident set size in bytes (Linux), or 0.
func rss() int64 { return procrss.Of(0) }
