// Command counter-http is the seed's Counter over HTTP: one durable counter per name.
//
//	go run ./examples/counter-http -addr 127.0.0.1:8081
//	curl -X POST 127.0.0.1:8081/parties/counter/visits   # increments, prints the value
//	curl 127.0.0.1:8081/parties/counter/visits           # prints the value
//
// The response is sent only once the new value is durable.
package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// Counter keeps one value in its object's storage.
type Counter struct {
	st    *object.State
	value int64
}

// ServeHTTP increments on POST and reports the value on GET.
func (c *Counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		c.value++
		if err := object.PutJSON(c.st.Storage(), "value", c.value); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	case http.MethodGet:
	default:
		http.Error(w, "use GET or POST", http.StatusMethodNotAllowed)
		return
	}
	fmt.Fprintln(w, c.value)
}

func main() { server.Main(app()) }

// app is the binary, for main and tests.
func app() server.App {
	return server.App{
		Name: "counter-http",
		Addr: "127.0.0.1:8081",
		Setup: func(rt *object.Runtime, s *server.Server) error {
			ns, err := object.Register(rt, "counter", func(ctx context.Context, st *object.State) (*Counter, error) {
				v, _, err := object.GetJSON[int64](st.Storage(), "value")
				return &Counter{st: st, value: v}, err
			})
			if err != nil {
				return err
			}
			return s.Mount(ns)
		},
	}
}
