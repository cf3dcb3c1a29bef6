package main

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// Awareness (y-protocols' presence: names, cursors) is relayed, never persisted.
// Each socket owns one awareness client ID, the first it sends that no other open
// socket of the document owns; entries for any other ID are dropped, so nobody
// can rewrite or remove another connected user's state. Viewers have no presence.
// A sender's state is bounded in size and its relays in rate.
const (
	// awarenessStale is how long a state lives without renewal (y-protocols'
	// outdatedTimeout; clients renew every half of it).
	awarenessStale = 30 * time.Second
	// maxAwarenessState bounds one state's JSON; a larger one closes the socket (4413).
	maxAwarenessState = 4 << 10
	// awarenessRate and awarenessBurst bound the awareness messages of one socket
	// that are relayed; beyond them the state is still kept (late joiners and the
	// sender's next relayed message carry it) but not relayed.
	awarenessRate  = 20 // per second
	awarenessBurst = 40
)

// awarenessSchedule is the named schedule that expires awareness states.
const awarenessSchedule = "awareness-expiry"

// awareness returns the states of every socket but except.
func (d *Document) awareness(except *object.WebSocket) []awarenessEntry {
	var out []awarenessEntry
	for _, ws := range d.st.WebSockets("") {
		if ws == except {
			continue
		}
		if info, _ := object.AttachmentOf[socketInfo](ws); info.Awareness != nil {
			out = append(out, *info.Awareness)
		}
	}
	return out
}

// owned reports whether an open socket other than ws owns client.
func (d *Document) owned(client uint64, ws *object.WebSocket) bool {
	for _, o := range d.st.WebSockets("") {
		if o != ws {
			if info, _ := object.AttachmentOf[socketInfo](o); info.Claimed && info.Client == client {
				return true
			}
		}
	}
	return false
}

// errAwarenessTooLarge reports a state over maxAwarenessState.
var errAwarenessTooLarge = errors.New("awareness state too large")

// ownAwareness decodes an awareness update from a socket with attachment info and
// returns the attachment updated with the socket's own entry, and that entry (nil
// when the update has none: y-websocket echoes the states it hears). The socket
// claims the first client ID of the update that taken does not report as owned
// by another socket; entries of other IDs are dropped.
func ownAwareness(update []byte, info socketInfo, taken func(client uint64) bool) (socketInfo, *awarenessEntry, error) {
	es, err := decodeAwareness(update)
	if err != nil {
		return info, nil, err
	}
	var own *awarenessEntry
	for i := range es {
		e := es[i]
		if !info.Claimed && !taken(e.Client) {
			info.Client, info.Claimed = e.Client, true
		}
		if info.Claimed && e.Client == info.Client {
			own = &e
		}
	}
	if own == nil {
		return info, nil, nil
	}
	if len(own.State) > maxAwarenessState {
		return info, nil, errAwarenessTooLarge
	}
	info.Awareness = nil
	if string(own.State) != "null" {
		info.Awareness = own
	}
	return info, own, nil
}

// onAwareness keeps the sender's own entry of an awareness update in its
// attachment and relays it, within the sender's rate.
func (d *Document) onAwareness(ws *object.WebSocket, update []byte) error {
	info, _ := object.AttachmentOf[socketInfo](ws)
	if info.ReadOnly {
		return nil // viewers have no presence
	}
	info, own, err := ownAwareness(update, info, func(c uint64) bool { return d.owned(c, ws) })
	switch {
	case errors.Is(err, errAwarenessTooLarge):
		return ws.Close(4413, err.Error())
	case err != nil:
		return ws.Close(4400, "malformed awareness update")
	case own == nil:
		return nil
	}
	now := d.st.Now()
	if info.Awareness != nil {
		info.Awareness.Renewed = now.UnixMilli()
	}
	if err := ws.SetAttachmentJSON(info); err != nil {
		return ws.Close(4413, errAwarenessTooLarge.Error())
	}
	if d.limits.of(ws).awareness.take(now, 1, awarenessRate, awarenessBurst) {
		d.st.Broadcast(object.BinaryMessage(awarenessFrame(encodeAwareness([]awarenessEntry{*own}))), ws)
	}
	if info.Awareness != nil && d.awarenessDue.IsZero() {
		return d.scheduleAwarenessExpiry(now.Add(d.policy.AwarenessTimeout))
	}
	return nil
}

// scheduleAwarenessExpiry sets the expiry check for at. It is set only when none
// is pending (not on every awareness message, which would write on every cursor
// move); when it fires it looks at every state's renewal time and sets the next.
func (d *Document) scheduleAwarenessExpiry(at time.Time) error {
	if err := d.st.Schedule(awarenessSchedule, object.At(at), nil); err != nil {
		return err
	}
	d.awarenessDue = at
	return nil
}

// removal is the entry that tells peers e's client is gone (state null, clock + 1).
func removal(e awarenessEntry) awarenessEntry {
	return awarenessEntry{Client: e.Client, Clock: e.Clock + 1, State: json.RawMessage("null")}
}

// OnSchedule expires awareness states not renewed within AwarenessTimeout, as
// y-protocols' outdated check does: each is removed from its socket and its
// removal is broadcast to every socket, the owner's included (a live y-protocols
// client answers by sending its state again).
func (d *Document) OnSchedule(ctx context.Context, f object.Firing) error {
	if f.Name != awarenessSchedule {
		return nil
	}
	d.awarenessDue = time.Time{}
	now := d.st.Now()
	var gone []awarenessEntry
	var next time.Time
	for _, ws := range d.st.WebSockets("") {
		info, _ := object.AttachmentOf[socketInfo](ws)
		if info.Awareness == nil {
			continue
		}
		e := info.Awareness
		expires := time.UnixMilli(e.Renewed).Add(d.policy.AwarenessTimeout)
		if expires.After(now) {
			if next.IsZero() || expires.Before(next) {
				next = expires
			}
			continue
		}
		gone = append(gone, removal(*e))
		info.Awareness = nil
		if err := ws.SetAttachmentJSON(info); err != nil {
			return err
		}
	}
	if len(gone) > 0 {
		d.st.Broadcast(object.BinaryMessage(awarenessFrame(encodeAwareness(gone))))
	}
	if !next.IsZero() {
		return d.scheduleAwarenessExpiry(next)
	}
	return nil
}

// OnClose removes the socket's awareness state and tells the others.
func (d *Document) OnClose(ctx context.Context, ws *object.WebSocket, code int, reason string, clean bool) error {
	d.limits.forget(ws)
	info, _ := object.AttachmentOf[socketInfo](ws)
	if info.Awareness == nil {
		return nil
	}
	d.st.Broadcast(object.BinaryMessage(awarenessFrame(encodeAwareness([]awarenessEntry{removal(*info.Awareness)}))), ws)
	return nil
}
