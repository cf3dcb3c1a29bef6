package main

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"

	y "github.com/skyterra/y-crdt"

	"github.com/warrenhq/warren/apps/collab-editor/internal/yupdate"
)

func init() {
	// y-crdt prints to stdout with fmt.Printf; send it to the structured log instead.
	y.Logf = func(f string, a ...any) { slog.Debug("y-crdt: " + fmt.Sprintf(f, a...)) }
}

// ydoc is the tests' Go Yjs peer: a y-crdt document (the server itself never
// integrates updates) with workarounds of the library's known bugs:
//
//   - deletes that arrive before their items are held and re-applied later
//     (y-crdt stores pending deletes in a format it cannot read back);
//   - XmlElement event handlers are filled in before observers run (nil panics);
//   - every update is validated first (yupdate.Parse) and y-crdt calls recover();
//   - text is read by walking items, not with the quadratic YText.ToString.
type ydoc struct {
	mu       sync.Mutex // y-crdt is not goroutine-safe: one lock per document
	doc      *y.Doc
	held     [][]byte
	poisoned bool
}

func newYDoc() *ydoc {
	d := &ydoc{doc: y.NewDoc("", true, y.DefaultGCFilter, nil, false)}
	d.doc.On("beforeObserverCalls", y.NewObserverHandler(func(v ...any) {
		tr, ok := v[0].(*y.Transaction)
		if !ok {
			return
		}
		for k := range tr.Changed {
			for at, ok := k.(y.IAbstractType); ok && at != nil; {
				if el, isEl := at.(*y.YXmlElement); isEl {
					if el.EH == nil {
						el.EH = y.NewEventHandler()
					}
					if el.DEH == nil {
						el.DEH = y.NewEventHandler()
					}
				}
				it := at.GetItem()
				if it == nil {
					break
				}
				at, ok = it.Parent.(y.IAbstractType)
			}
		}
	}))
	return d
}

// Apply applies update u. It reports an error for a rejected (hostile) update,
// which is not applied, and for a y-crdt panic, after which the document is
// poisoned: it may no longer be trusted to hold every update.
func (d *ydoc) Apply(u []byte) (err error) {
	if _, err := yupdate.Parse(u); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			d.poisoned = true
			err = fmt.Errorf("collab-editor: y-crdt panicked: %v", r)
		}
	}()
	if d.applyOne(u) {
		d.held = append(d.held, u)
		return nil
	}
	keep := d.held[:0]
	for _, h := range d.held {
		if d.applyOne(h) {
			keep = append(keep, h)
		}
	}
	d.held = keep
	return nil
}

// applyOne applies u and reports whether it left deletes pending (then u must be
// held and re-applied later).
func (d *ydoc) applyOne(u []byte) bool {
	y.ApplyUpdate(d.doc, u, nil)
	if d.doc.Store.PendingDs != nil {
		d.doc.Store.PendingDs = nil
		return true
	}
	return false
}

// Clean reports whether the document holds every update applied to it: no held
// deletes, no pending structs, never a panic.
func (d *ydoc) Clean() bool {
	return !d.poisoned && len(d.held) == 0 && d.doc.Store.PendingStructs == nil
}

// StateVector returns the encoded state vector.
func (d *ydoc) StateVector() (sv []byte, err error) {
	err = d.guard(func() { sv = y.EncodeStateVector(d.doc, nil, y.NewUpdateEncoderV1()) })
	return sv, err
}

// Diff returns the update a peer with state vector sv (nil: an empty peer) misses.
func (d *ydoc) Diff(sv []byte) (u []byte, err error) {
	if len(sv) > 0 {
		if _, err := yupdate.DecodeStateVector(sv); err != nil {
			return nil, err
		}
	}
	err = d.guard(func() { u = y.EncodeStateAsUpdate(d.doc, sv) })
	return u, err
}

// Text returns the shared text, walking its items (YText.ToString is quadratic).
func (d *ydoc) Text() (s string, err error) {
	err = d.guard(func() {
		var b strings.Builder
		for it := d.doc.GetText(TextName).Start; it != nil; it = it.Right {
			if it.Deleted() {
				continue
			}
			if c, ok := it.Content.(*y.ContentString); ok {
				b.WriteString(c.Str)
			}
		}
		s = b.String()
	})
	return s, err
}

func (d *ydoc) guard(f func()) (err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("collab-editor: y-crdt panicked: %v", r)
		}
	}()
	f()
	return nil
}
