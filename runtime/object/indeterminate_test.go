package object_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// unknownCommitter commits, then says it cannot tell whether the commit became
// durable (a cluster append that went unanswered).
type unknownCommitter struct{}

func (unknownCommitter) Commit(_ context.Context, _ string, _ object.ID, _ int, commit func() error) error {
	if err := commit(); err != nil {
		return err
	}
	return fmt.Errorf("%w: the append went unanswered", object.ErrIndeterminate)
}

// A commit whose outcome is unknown reaches the caller as ErrIndeterminate, never as
// ErrRetryable ("no effect"), and maps to 500, not to a 503 inviting a retry.
func TestIndeterminateCommitIsNotNoEffect(t *testing.T) {
	rt := objecttest.New(t, object.Config{Committer: unknownCommitter{}})
	c := registerCounter(t, rt.Runtime)
	_, err := c.increment.Call(context.Background(), c.ns.GetByName("u"), 1)
	if !errors.Is(err, object.ErrIndeterminate) || errors.Is(err, object.ErrRetryable) {
		t.Fatalf("call: %v, want ErrIndeterminate and not ErrRetryable", err)
	}
	if code, _ := object.HTTPStatus(err); code != http.StatusInternalServerError {
		t.Fatalf("HTTPStatus %d, want 500", code)
	}
}
