// Package scenario is the registry of load-test scenarios. A scenario names
// a target protocol and its defaults; adding one is one small file with an
// init function calling Register.
package scenario

import (
	"context"
	"fmt"
	"sort"

	"github.com/warrenhq/warren/loadtest/internal/engine"
	"github.com/warrenhq/warren/loadtest/internal/report"
)

// Scenario is a named preset of the engine.
type Scenario struct {
	Name    string // the CLI's first argument
	Summary string // one line for `loadtest list`
	URL     string // default -url template ({room}, {conn})
	Payload string // default -payload codec: relay or chat
	Self    bool   // default -self: the server echoes a message to its sender
	// Configure, if set, has the last word on the configuration built from
	// the flags (e.g. to force a codec or a header).
	Configure func(*engine.Config) error
	// Run, if set, replaces the engine for scenarios whose traffic is not a
	// WebSocket fan-out (e.g. HTTP ingestion plus viewers); it gets the
	// configuration built from the flags.
	Run func(ctx context.Context, c engine.Config) (*report.Result, error)
}

var registry = map[string]*Scenario{}

// Register adds s; it panics on a duplicate name (a programming error).
func Register(s *Scenario) {
	if _, dup := registry[s.Name]; dup {
		panic("scenario: duplicate " + s.Name)
	}
	registry[s.Name] = s
}

// Lookup returns the scenario called name.
func Lookup(name string) (*Scenario, error) {
	if s, ok := registry[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("unknown scenario %q (known: %v)", name, Names())
}

// Names lists the registered scenarios, sorted.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
