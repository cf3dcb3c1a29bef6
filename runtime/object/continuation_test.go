package object_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// logBuffer is a slog destination safe for concurrent use, for tests that check what
// the runtime logged.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// TestContinuationOfDroppedInstanceIsDropped pins issue 13 item 16: every entity
// started at generation 1, so after a failed commit (which drops the entity) the
// continuation of State.Go work begun by the old instance matched the new instance's
// generation and ran, its closure using the old instance's State. Fails on the code
// before the fix (the continuation ran and failed with "storage used outside a turn").
func TestContinuationOfDroppedInstanceIsDropped(t *testing.T) {
	fc := &failingCommitter{}
	var logs logBuffer
	rt := objecttest.New(t, object.Config{Committer: fc, Logger: logs.logger()})
	release := make(chan struct{})
	var ran atomic.Bool
	start := object.NewMethod("start", func(n *Named, ctx context.Context, _ struct{}) (bool, error) {
		n.st.Go(func(ctx context.Context) func(context.Context) error {
			<-release
			return func(ctx context.Context) error {
				ran.Store(true)
				return n.st.Storage().Put("late", []byte("x"))
			}
		})
		return true, nil
	})
	write := object.NewMethod("write", func(n *Named, ctx context.Context, _ struct{}) (bool, error) {
		return true, n.st.Storage().Put("k", []byte("v"))
	})
	ns, err := object.Register(rt.Runtime, "async", func(ctx context.Context, st *object.State) (*Named, error) { return &Named{st}, nil }, object.Methods(start, write))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stub := ns.GetByName("a")
	if _, err := start.Call(ctx, stub, struct{}{}); err != nil {
		t.Fatal(err)
	}
	fc.fail.Store(true)
	if _, err := write.Call(ctx, stub, struct{}{}); !errors.Is(err, object.ErrRetryable) {
		t.Fatalf("write with a failing commit: %v, want ErrRetryable", err)
	}
	fc.fail.Store(false)
	if _, err := write.Call(ctx, stub, struct{}{}); err != nil {
		t.Fatal(err)
	}
	close(release)
	eventually(t, "the continuation to be dropped", func() bool {
		return strings.Contains(logs.String(), "continuation failed")
	})
	if ran.Load() {
		t.Fatal("the continuation of the dropped instance ran on the new one")
	}
	if !strings.Contains(logs.String(), "reset before this continuation ran") {
		t.Fatalf("the continuation failed for another reason:\n%s", logs.String())
	}
}

// TestConstructorOutputsRun pins the "also seen" constructor outputs of issue 13:
// OnCommit and Go registered in a constructor were silently dropped. Now they are
// released after the constructor's transaction commits, like a turn's. Fails on the
// code before the fix (neither ran).
func TestConstructorOutputsRun(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	committed := make(chan string, 2)
	ping := object.NewMethod("ping", func(n *Named, ctx context.Context, _ struct{}) (bool, error) { return true, nil })
	ns, err := object.Register(rt.Runtime, "booting", func(ctx context.Context, st *object.State) (*Named, error) {
		if err := st.Storage().Put("booted", []byte("1")); err != nil {
			return nil, err
		}
		st.OnCommit(func() { committed <- "on-commit" })
		n := &Named{st}
		st.Go(func(ctx context.Context) func(context.Context) error {
			return func(ctx context.Context) error {
				committed <- "continuation"
				return n.st.Storage().Put("warmed", []byte("1"))
			}
		})
		return n, nil
	}, object.Methods(ping))
	if err != nil {
		t.Fatal(err)
	}
	stub := ns.GetByName("a")
	if _, err := ping.Call(context.Background(), stub, struct{}{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"on-commit", "continuation"} {
		select {
		case got := <-committed:
			if got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the constructor's %s never ran", want)
		}
	}
	rt.WaitIdle()
	if kv := rt.KV(t, "booting", stub.ID()); kv["booted"] != "1" || kv["warmed"] != "1" {
		t.Fatalf("stored %v", kv)
	}
}
