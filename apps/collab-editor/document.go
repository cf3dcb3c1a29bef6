package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// Compaction policy: the log is merged into a snapshot after CompactQuiet without
// updates, at most CompactMax after the first update since the last compaction,
// and at once when it grows past CompactBytes or CompactRows.
type Policy struct {
	CompactQuiet time.Duration // default 2 s
	CompactMax   time.Duration // default 10 s
	CompactBytes int64         // default 512 KiB
	CompactRows  int64         // default 5000

	// AwarenessTimeout is how long a client's awareness state lives without
	// renewal before the server removes it and tells the others (y-protocols'
	// outdatedTimeout; clients renew every half of it). Default 30 s.
	AwarenessTimeout time.Duration
}

func (p Policy) withDefaults() Policy {
	if p.CompactQuiet <= 0 {
		p.CompactQuiet = 2 * time.Second
	}
	if p.CompactMax <= 0 {
		p.CompactMax = 10 * time.Second
	}
	if p.CompactBytes <= 0 {
		p.CompactBytes = 512 << 10
	}
	if p.CompactRows <= 0 {
		p.CompactRows = 5000
	}
	if p.AwarenessTimeout <= 0 {
		p.AwarenessTimeout = awarenessStale
	}
	return p
}

// emptyUpdate is an update with no structs and no deletes.
var emptyUpdate = []byte{0, 0}

// Document is one collaborative document: a Yjs doc persisted as a snapshot plus
// an append-only log of updates in the object's SQLite, served over the
// y-websocket protocol.
//
// Durability: an update is appended to the log in the turn that receives it, and
// relayed by a send of that turn, so it leaves the server only once it is durable.
//
// Trust: the Go document (y-crdt) is used to answer sync step 1 with a diff and to
// compact the log. Rows up to cleanSeq are known to be fully in it; later rows
// (applied while something was pending, or after y-crdt panicked) are kept raw and
// sent along with every sync step 2, so a client always gets the full state.
type Document struct {
	st     *object.State
	policy Policy

	doc        *ydoc
	lastSeq    int64 // last log row
	cleanSeq   int64 // rows <= cleanSeq are fully in doc
	logRows    int64 // rows in the log
	logBytes   int64
	firstDirty time.Time // first update since the last compaction (zero: none)
	noCompact  bool      // a compaction failed its check: keep the raw log from now on
	compacted  int64     // compactions by this instance

	awarenessDue time.Time    // when the awareness-expiry schedule fires (zero: none)
	limits       socketLimits // per-socket rate limits
}

// socketInfo is a socket's attachment: whether it may write, and its awareness
// (relayed, never persisted).
type socketInfo struct {
	ReadOnly bool `json:"ro,omitempty"`
	// Client is the awareness client ID the socket owns, once Claimed: the first
	// one it sent that no other open socket of the document owned.
	Client  uint64 `json:"c,omitempty"`
	Claimed bool   `json:"cl,omitempty"`
	// Awareness is the owned client's current state (nil: none or removed).
	Awareness *awarenessEntry `json:"aw,omitempty"`
}

type readOnlyKey struct{}

// withReadOnly marks a request's socket as read-only (the view endpoint).
func withReadOnly(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), readOnlyKey{}, true))
}

func newDocument(ctx context.Context, st *object.State, p Policy) (*Document, error) {
	d := &Document{st: st, policy: p.withDefaults(), doc: newYDoc(), limits: socketLimits{}}
	q := st.SQL()
	for _, s := range []string{
		`CREATE TABLE IF NOT EXISTS ylog (seq INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS ysnapshot (id INTEGER PRIMARY KEY CHECK (id = 1), data BLOB NOT NULL, upto INTEGER NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS versions (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, created INTEGER NOT NULL, data BLOB NOT NULL)`,
	} {
		if _, err := q.Exec(s); err != nil {
			return nil, err
		}
	}
	var snap []byte
	err := q.QueryRow(`SELECT data, upto FROM ysnapshot WHERE id = 1`).Scan(&snap, &d.cleanSeq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	d.lastSeq = d.cleanSeq
	if len(snap) > 0 {
		if err := d.doc.Apply(snap); err != nil {
			st.Logger().Warn("snapshot not trusted by y-crdt; keeping the raw log", "err", err)
		}
	}
	rows, err := q.Query(`SELECT seq, data FROM ylog ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var u []byte
		if err := rows.Scan(&seq, &u); err != nil {
			return nil, err
		}
		d.applyRow(seq, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if d.logRows > 0 {
		d.firstDirty = st.Now()
	}
	scheds, err := st.Schedules()
	if err != nil {
		return nil, err
	}
	for _, s := range scheds {
		if s.Name == awarenessSchedule {
			d.awarenessDue = s.Next
		}
	}
	return d, nil
}

// applyRow applies log row seq to the Go document and advances cleanSeq when
// the document is clean afterwards.
func (d *Document) applyRow(seq int64, u []byte) {
	d.lastSeq, d.logRows, d.logBytes = seq, d.logRows+1, d.logBytes+int64(len(u))
	if err := d.doc.Apply(u); err != nil {
		d.st.Logger().Warn("update not applied by y-crdt; kept in the raw log", "seq", seq, "err", err)
	}
	if d.doc.Clean() {
		d.cleanSeq = seq
	}
}

// OnConnect sends the server's sync step 1 and the current awareness states.
func (d *Document) OnConnect(ctx context.Context, ws *object.WebSocket, r *http.Request) error {
	ro, _ := r.Context().Value(readOnlyKey{}).(bool)
	if err := ws.SetAttachmentJSON(socketInfo{ReadOnly: ro}); err != nil {
		return err
	}
	sv, err := d.doc.StateVector()
	if err != nil {
		sv = []byte{0}
	}
	if err := ws.SendBinary(syncFrame(syncStep1, sv)); err != nil {
		return err
	}
	if aw := d.awareness(ws); len(aw) > 0 {
		return ws.SendBinary(awarenessFrame(encodeAwareness(aw)))
	}
	return nil
}

// OnMessage handles one y-websocket message.
func (d *Document) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	f, err := decodeFrame(m.Data)
	if err != nil {
		return ws.Close(4400, "malformed message")
	}
	switch f.Type {
	case msgSync:
		switch f.SyncType {
		case syncStep1:
			return d.sendState(ws, f.Payload)
		default: // step 2 and update carry an update
			var info socketInfo
			ws.AttachmentJSON(&info)
			if info.ReadOnly {
				return nil // viewers' edits are ignored
			}
			return d.update(ws, f.Payload)
		}
	case msgAwareness:
		return d.onAwareness(ws, f.Payload)
	case msgQueryAwareness:
		return ws.SendBinary(awarenessFrame(encodeAwareness(d.awareness(nil))))
	}
	return nil // auth and unknown types: ignored, as y-websocket's server does
}

// sendState answers sync step 1: step 2 with what the peer misses, then the raw
// log rows the Go document may not hold.
func (d *Document) sendState(ws *object.WebSocket, sv []byte) error {
	diff, err := d.doc.Diff(sv)
	from := d.cleanSeq
	if err != nil {
		// The Go document cannot even encode: send the stored snapshot and every row.
		d.st.Logger().Warn("diff failed; sending snapshot and raw log", "err", err)
		diff, from = emptyUpdate, 0
		var snap []byte
		if err := d.st.SQL().QueryRow(`SELECT data FROM ysnapshot WHERE id = 1`).Scan(&snap); err == nil && len(snap) > 0 {
			diff = snap
		}
	}
	if err := ws.SendBinary(syncFrame(syncStep2, diff)); err != nil {
		return err
	}
	if from >= d.lastSeq {
		return nil
	}
	raw, err := d.rawRows(from)
	if err != nil {
		return err
	}
	for _, u := range raw {
		if err := ws.SendBinary(syncFrame(syncUpdate, u)); err != nil {
			return err
		}
	}
	return nil
}

func (d *Document) rawRows(after int64) ([][]byte, error) {
	rows, err := d.st.SQL().Query(`SELECT data FROM ylog WHERE seq > ? ORDER BY seq`, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var u []byte
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// update appends u to the log, applies it and relays it to the other sockets.
func (d *Document) update(from *object.WebSocket, u []byte) error {
	if bytes.Equal(u, emptyUpdate) || len(u) == 0 {
		return nil
	}
	if err := checkUpdate(u); err != nil {
		return from.Close(4400, "malformed update")
	}
	res, err := d.st.SQL().Exec(`INSERT INTO ylog (data) VALUES (?)`, u)
	if err != nil {
		return err
	}
	d.applyRow(res.LastInsertID, u)
	d.st.Broadcast(object.BinaryMessage(syncFrame(syncUpdate, u)), from)
	return d.scheduleCompaction()
}

func (d *Document) scheduleCompaction() error {
	now := d.st.Now()
	if d.logBytes >= d.policy.CompactBytes || d.logRows >= d.policy.CompactRows {
		return d.compact()
	}
	if d.firstDirty.IsZero() {
		d.firstDirty = now
	}
	at := now.Add(d.policy.CompactQuiet)
	if max := d.firstDirty.Add(d.policy.CompactMax); max.Before(at) {
		at = max
	}
	return d.st.SetAlarm(at)
}

// Alarm compacts the log (debounced by scheduleCompaction).
func (d *Document) Alarm(ctx context.Context, info object.AlarmInfo) error { return d.compact() }

// compact replaces the snapshot with the Go document's state and deletes the log
// rows it is known to hold, when that is safe: the new snapshot, applied to a
// fresh document, must be clean and reach the same state vector and text.
func (d *Document) compact() error {
	d.firstDirty = time.Time{}
	if d.noCompact || d.doc.poisoned {
		return nil
	}
	var upto int64
	d.st.SQL().QueryRow(`SELECT upto FROM ysnapshot WHERE id = 1`).Scan(&upto)
	if d.cleanSeq <= upto {
		return nil // nothing new is known to be in the document
	}
	snap, err := d.doc.Diff(nil)
	if err == nil {
		err = d.verify(snap)
	}
	if err != nil {
		d.noCompact = true
		d.st.Logger().Warn("compaction refused; keeping the raw log", "err", err)
		return nil
	}
	q := d.st.SQL()
	if _, err := q.Exec(`INSERT INTO ysnapshot (id, data, upto) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, upto = excluded.upto`, snap, d.cleanSeq); err != nil {
		return err
	}
	if _, err := q.Exec(`DELETE FROM ylog WHERE seq <= ?`, d.cleanSeq); err != nil {
		return err
	}
	if err := q.QueryRow(`SELECT count(*), coalesce(sum(length(data)), 0) FROM ylog`).Scan(&d.logRows, &d.logBytes); err != nil {
		return err
	}
	d.compacted++
	compactions.Add(1)
	return nil
}

func (d *Document) verify(snap []byte) error {
	fresh := newYDoc()
	if err := fresh.Apply(snap); err != nil {
		return err
	}
	if !fresh.Clean() {
		return errors.New("snapshot leaves pending structs")
	}
	a, err1 := d.doc.StateVector()
	b, err2 := fresh.StateVector()
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	if !sameStateVector(a, b) {
		return errors.New("snapshot state vector differs")
	}
	t1, err1 := d.doc.Text()
	t2, err2 := fresh.Text()
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	if t1 != t2 {
		return errors.New("snapshot text differs")
	}
	return nil
}

// sameStateVector compares encoded state vectors as maps (client order varies).
func sameStateVector(a, b []byte) bool {
	ma, okA := decodeStateVector(a)
	mb, okB := decodeStateVector(b)
	if !okA || !okB || len(ma) != len(mb) {
		return false
	}
	for k, v := range ma {
		if mb[k] != v {
			return false
		}
	}
	return true
}

func decodeStateVector(b []byte) (map[uint64]uint64, bool) {
	r := &reader{b: b}
	n := r.uint()
	if r.err != nil || n > uint64(len(b)) {
		return nil, false
	}
	m := make(map[uint64]uint64, n)
	for range n {
		c, k := r.uint(), r.uint()
		m[c] = k
	}
	return m, r.err == nil
}

// fullState returns updates that together hold the whole document: the Go
// document's state, then the raw rows it may not hold.
func (d *Document) fullState() ([][]byte, error) {
	snap, err := d.doc.Diff(nil)
	from := d.cleanSeq
	if err != nil {
		snap, from = emptyUpdate, 0
		d.st.SQL().QueryRow(`SELECT data FROM ysnapshot WHERE id = 1`).Scan(&snap)
	}
	raw, err := d.rawRows(from)
	if err != nil {
		return nil, err
	}
	return append([][]byte{snap}, raw...), nil
}

// encodeUpdates is the container of versions and /state: varuint n, n varbytes.
func encodeUpdates(us [][]byte) []byte {
	b := appendUint(nil, uint64(len(us)))
	for _, u := range us {
		b = appendBytes(b, u)
	}
	return b
}

// Stats describes a document's storage, for /stats, tests and the load test.
type Stats struct {
	LastSeq     int64 `json:"lastSeq"`
	CleanSeq    int64 `json:"cleanSeq"`
	LogRows     int64 `json:"logRows"`
	LogBytes    int64 `json:"logBytes"`
	Clean       bool  `json:"clean"`
	Compactions int64 `json:"compactions"`
	Sockets     int   `json:"sockets"`
}

// Version is a named snapshot.
type Version struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// ServeHTTP serves /parties/document/<name>/<rest>:
//
//	GET  text           the document's text (text/plain)
//	GET  state          the full state: varuint n, then n varbytes Yjs updates
//	GET  stats          storage statistics (JSON)
//	GET  versions       named snapshots (JSON)
//	POST versions       {"name"} (application/json): snapshot the document now; returns the Version
//	GET  versions/<id>  the version's state, encoded like state
//
// Other methods get 405, other paths 404.
func (d *Document) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.SplitN(r.URL.Path, "/", 5) // "", parties, document, name, rest
	rest := ""
	if len(parts) == 5 {
		rest = parts[4]
	}
	switch {
	case rest == "text":
		if allowMethods(w, r, http.MethodGet) {
			d.serveText(w)
		}
	case rest == "state":
		if allowMethods(w, r, http.MethodGet) {
			d.serveState(w)
		}
	case rest == "stats":
		if allowMethods(w, r, http.MethodGet) {
			writeJSON(w, Stats{LastSeq: d.lastSeq, CleanSeq: d.cleanSeq, LogRows: d.logRows, LogBytes: d.logBytes,
				Clean: d.doc.Clean(), Compactions: d.compacted, Sockets: len(d.st.WebSockets(""))})
		}
	case rest == "versions":
		if !allowMethods(w, r, http.MethodGet, http.MethodPost) {
			return
		}
		if r.Method == http.MethodGet {
			d.serveVersions(w)
		} else {
			d.saveVersion(w, r)
		}
	case strings.HasPrefix(rest, "versions/"):
		if allowMethods(w, r, http.MethodGet) {
			d.serveVersion(w, strings.TrimPrefix(rest, "versions/"))
		}
	default:
		http.Error(w, fmt.Sprintf("no route %q", rest), http.StatusNotFound)
	}
}

func (d *Document) serveText(w http.ResponseWriter) {
	s, err := d.doc.Text()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(s))
}

func (d *Document) serveState(w http.ResponseWriter) {
	us, err := d.fullState()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(encodeUpdates(us))
}

func (d *Document) serveVersions(w http.ResponseWriter) {
	rows, err := d.st.SQL().Query(`SELECT id, name, created FROM versions ORDER BY id DESC`)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer rows.Close()
	vs := []Version{}
	for rows.Next() {
		var v Version
		var created int64
		rows.Scan(&v.ID, &v.Name, &created)
		v.Created = time.UnixMilli(created).UTC()
		vs = append(vs, v)
	}
	writeJSON(w, vs)
}

func (d *Document) saveVersion(w http.ResponseWriter, r *http.Request) {
	var in struct{ Name string }
	if !decodeJSONBody(w, r, &in) {
		return
	}
	if strings.TrimSpace(in.Name) == "" || len(in.Name) > 200 {
		http.Error(w, "body must be {\"name\": \"1 to 200 bytes\"}", http.StatusBadRequest)
		return
	}
	us, err := d.fullState()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	v := Version{Name: strings.TrimSpace(in.Name), Created: d.st.Now().UTC().Truncate(time.Millisecond)}
	res, err := d.st.SQL().Exec(`INSERT INTO versions (name, created, data) VALUES (?, ?, ?)`, v.Name, v.Created.UnixMilli(), encodeUpdates(us))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	v.ID = res.LastInsertID
	writeJSON(w, v)
}

func (d *Document) serveVersion(w http.ResponseWriter, idText string) {
	id, err := strconv.ParseInt(idText, 10, 64)
	var data []byte
	if err == nil {
		err = d.st.SQL().QueryRow(`SELECT data FROM versions WHERE id = ?`, id).Scan(&data)
	}
	if err != nil {
		http.Error(w, "no such version", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(data)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
