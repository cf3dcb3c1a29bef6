// Command bench-objects writes N distinct objects once each and reports throughput
// and the process's peak RSS: the cost of many objects on one machine.
//
//	go run ./internal/cmd/bench-objects -n 100000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
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
	ns, err := object.Register(rt, "counter", func(ctx context.Context, st *object.State) (*counter, error) { return &counter{st}, nil }, object.Methods(put))
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
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer f.Close()
	}
	start := time.Now()
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
				if _, err := put.Call(context.Background(), ns.GetByName(fmt.Sprint("object-", i)), int(i)); err != nil {
					log.Fatal(err)
				}
				if i > 0 && i%50000 == 0 {
					fmt.Fprintf(os.Stderr, "%d objects, %.0f/s, RSS %d MB\n", i, float64(i)/time.Since(start).Seconds(), rss()>>20)
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	close(stop)
	if r := rss(); r > peak.Load() {
		peak.Store(r)
	}
	st := rt.Stats()
	fmt.Printf("objects %d  workers %d  synchronous %s  time %.1fs  objects/s %.0f  peak RSS %d MB  open databases %d  evictions %d  GOMAXPROCS %d\n",
		*n, *workers, *syncMode, el.Seconds(), float64(*n)/el.Seconds(), peak.Load()>>20, st.OpenDatabases, st.Evictions, runtime.GOMAXPROCS(0))
}

// rss returns the process's resident set size in bytes (Linux), or 0.
func rss() int64 { return procrss.Of(0) }
