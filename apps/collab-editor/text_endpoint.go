package main

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/warrenhq/warren/apps/collab-editor/internal/yupdate"
	"github.com/warrenhq/warren/runtime/object"
)

// textEndpoint mounts the document namespace at /parties/document/ and serves
// GET /parties/document/<name>/text itself: reading a text means integrating
// the document (yupdate.Text), which can take quadratic time, so it runs
// outside the document's turns (the document keeps answering its sockets), one
// at a time in the process, within Policy.TextSteps, and its result is kept per
// document until the next update.
type textEndpoint struct {
	docs  *object.Namespace[Document]
	steps int

	slot  chan struct{} // one text integrated at a time
	mu    sync.Mutex
	cache map[string]cachedText
}

type cachedText struct {
	seq  int64
	text string
	err  error
}

// maxCachedTexts bounds the texts kept (of distinct documents).
const maxCachedTexts = 32

// textWait bounds how long a request waits for its turn to integrate.
const textWait = 10 * time.Second

func newTextEndpoint(docs *object.Namespace[Document], steps int) *textEndpoint {
	return &textEndpoint{docs: docs, steps: steps,
		slot: make(chan struct{}, 1), cache: map[string]cachedText{}}
}

func (e *textEndpoint) Name() string { return e.docs.Name() }

func (e *textEndpoint) AcceptSocket(r *http.Request, name, connID string) (*object.HostSocket, error) {
	return e.docs.AcceptSocket(r, name, connID)
}

func (e *textEndpoint) ServeObject(w http.ResponseWriter, r *http.Request, name string) {
	if r.URL.Path != "/text" {
		e.docs.ServeObject(w, r, name)
		return
	}
	if !allowMethods(w, r, http.MethodGet) {
		return
	}
	if !e.docs.Exists(name) { // as ServeObject does for the rest (ExistingOnlyHTTP): a GET creates nothing
		http.Error(w, "no such document", http.StatusNotFound)
		return
	}
	text, err := e.text(r.Context(), name)
	switch {
	case errors.Is(err, yupdate.ErrTooComplex):
		http.Error(w, "the document takes too many steps to read on the server; read it with a Yjs client (GET state)", http.StatusUnprocessableEntity)
	case errors.Is(err, object.ErrOverloaded), errors.Is(err, context.DeadlineExceeded):
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte(text))
	}
}

// text returns the document's text, from the cache when the document has not
// changed since.
func (e *textEndpoint) text(ctx context.Context, name string) (string, error) {
	e.mu.Lock()
	c, ok := e.cache[name]
	e.mu.Unlock()
	have := int64(0)
	if ok {
		have = c.seq
	}
	st, err := mergedStateOf.Call(ctx, e.docs.GetByName(name), have)
	if err != nil {
		return "", err
	}
	if ok && st.State == nil {
		return c.text, c.err
	}
	ctx, cancel := context.WithTimeout(ctx, textWait)
	defer cancel()
	select {
	case e.slot <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-e.slot }()
	u, err := yupdate.Parse(st.State)
	if err == nil {
		c = cachedText{seq: st.Seq}
		c.text, c.err = yupdate.Text(u, TextName, e.steps)
		err = c.err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.cache) >= maxCachedTexts {
		for k := range e.cache { // drop any one
			delete(e.cache, k)
			break
		}
	}
	e.cache[name] = c
	return c.text, err
}
