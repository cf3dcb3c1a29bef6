package object_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// TestCrashDurability runs a child process that writes through many concurrent calls
// and prints each acknowledged key, kills it with SIGKILL mid-load, restarts on the
// same data directory, and checks that every acknowledged write is there.
func TestCrashDurability(t *testing.T) {
	if dir := os.Getenv("WARREN_CRASH_CHILD_DIR"); dir != "" {
		crashChild(dir)
		return
	}
	dir := t.TempDir()
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDurability$", "-test.count=1")
		cmd.Env = append(os.Environ(), "WARREN_CRASH_CHILD_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[string]bool{}
		sc := bufio.NewScanner(out)
		killAt := 300 + round*200
		for sc.Scan() {
			if key, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
				acked[key] = true
				if len(acked) == killAt {
					cmd.Process.Signal(syscall.SIGKILL)
				}
			}
		}
		cmd.Wait()
		if len(acked) < killAt {
			t.Fatalf("round %d: child acknowledged only %d writes before exiting", round, len(acked))
		}
		rt := objecttest.New(t, object.Config{DataDir: dir})
		ns, _ := registerLedger(t, rt.Runtime)
		for w := range crashObjects {
			stub := ns.GetByName(fmt.Sprint("obj", w))
			kv := rt.KV(t, "ledger", stub.ID())
			var check string
			if err := rt.OpenDB(t, "ledger", stub.ID()).QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
				t.Fatalf("integrity_check of obj%d: %q, %v", w, check, err)
			}
			for key := range acked {
				if strings.HasPrefix(key, fmt.Sprintf("obj%d/", w)) && kv[key] != "v" {
					t.Errorf("round %d: acknowledged write %s lost after SIGKILL", round, key)
				}
			}
		}
		rt.Close()
		t.Logf("round %d: %d acknowledged writes, all present after SIGKILL", round, len(acked))
	}
}

const crashObjects = 4

// crashChild writes forever from 32 goroutines across crashObjects objects, printing
// each key once its write is acknowledged.
func crashChild(dir string) {
	rt, err := object.New(object.Config{DataDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	wr := object.NewMethod("write", (*Ledger).Write)
	ns, err := object.Register(rt, "ledger", newLedger, object.Methods(wr))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	run := time.Now().UnixNano()
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stub := ns.GetByName(fmt.Sprint("obj", g%crashObjects))
			for i := 0; ; i++ {
				key := fmt.Sprintf("obj%d/%d/%d/%d", g%crashObjects, run, g, i)
				if _, err := wr.Call(context.Background(), stub, write{Key: key}); err != nil {
					continue
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %s\n", key)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
