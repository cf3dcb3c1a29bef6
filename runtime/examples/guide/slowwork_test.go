package guide_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/warrenhq/warren/runtime/object"
)

// Feed fetches something slow without holding its turn: State.Go runs the work after
// the current turn commits, in its own goroutine, and delivers the result back as a
// new turn. Other events keep flowing in the meantime.
type Feed struct {
	st   *object.State
	done chan string
}

// The RPC methods, listed at Register.
var refresh = object.NewMethod("refresh", (*Feed).Refresh)

func (f *Feed) Refresh(ctx context.Context, url string) (string, error) {
	f.st.Go(func(ctx context.Context) func(ctx context.Context) error {
		body := strings.ToUpper(url) // stands for an HTTP request or a call to another object
		return func(ctx context.Context) error {
			// Back in a turn of the object: safe to touch its state and storage.
			err := f.st.Storage().Put("latest", []byte(body))
			f.st.OnCommit(func() { f.done <- body })
			return err
		}
	})
	return "refreshing", nil
}

func Example_slowWork() {
	dir, _ := os.MkdirTemp("", "warren-guide")
	defer os.RemoveAll(dir)
	rt, err := object.New(object.Config{DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	done := make(chan string, 1)
	feeds, err := object.Register(rt, "feed", func(ctx context.Context, st *object.State) (*Feed, error) {
		return &Feed{st: st, done: done}, nil
	}, object.Methods(refresh))
	if err != nil {
		log.Fatal(err)
	}
	s, err := refresh.Call(context.Background(), feeds.GetByName("news"), "example.com/rss")
	fmt.Println(s, err)
	fmt.Println("stored:", <-done)
	// Output:
	// refreshing <nil>
	// stored: EXAMPLE.COM/RSS
}
