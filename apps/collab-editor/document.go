package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/warrenhq/warren/apps/collab-editor/internal/yupdate"
	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// Document is one collaborative document: a Yjs document persisted as a
// snapshot plus an append-only log of updates in the object's SQLite, served
// over the y-websocket protocol.
//
// The server never integrates updates (Yjs' ordering of items, which a few
// small updates can make quadratic): it validates each one, appends it to the
// log and relays it. Its state is the snapshot and the log merged at the struct
// level (package yupdate, linear in their size), from which it answers a sync
// step 1 with one update holding everything the peer misses, pending structs
// included, and which a compaction writes as the new snapshot.
//
// Durability: an update is appended to the log in the turn that receives it, and
// relayed by a send of that turn, so it leaves the server only once it is durable.
type Document struct {
	st     *object.State
	policy Policy

	state       *yupdate.Update   // the snapshot and the log rows up to stateSeq, merged
	stateSeq    int64             // the last log row merged into state
	tail        []*yupdate.Update // the log rows after stateSeq
	tailBytes   int
	tailStructs int
	lastSeq     int64 // the last log row
	logRows     int64 // rows in the log table
	logBytes    int64
	firstDirty  time.Time // first update since the last compaction (zero: none)
	lastUpdate  time.Time // the last update this instance appended (zero: none)
	alarmAt     time.Time // when the alarm this instance set fires (zero: none set)
	lastFold    time.Time // when a full document last made an update fold the tail
	compacted   int64     // compactions by this instance

	awarenessDue time.Time          // when the awareness-expiry schedule fires (zero: none)
	limits       socketLimits       // per-socket rate limits
	catchUps     map[string]*bucket // catch-up bytes per client address
	mux          *http.ServeMux     // the HTTP routes (document_http.go)
}

// socketInfo is a socket's attachment: whether it may write, and its awareness
// (relayed, never persisted).
type socketInfo struct {
	ReadOnly bool   `json:"ro,omitempty"`
	Addr     string `json:"ip,omitempty"` // server.ClientAddr: its catch-up budget
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

// emptyUpdate is an update with no structs and no deletions.
var emptyUpdate = []byte{0, 0}

// errDocumentFull reports an update that would take a document past its limits.
var errDocumentFull = errors.New("document over its size limit")

func mustParse(b []byte) *yupdate.Update {
	u, err := yupdate.Parse(b)
	if err != nil {
		panic(err)
	}
	return u
}

func newDocument(ctx context.Context, st *object.State, p Policy) (*Document, error) {
	d := &Document{st: st, policy: p.withDefaults(), state: mustParse(emptyUpdate), limits: socketLimits{}, catchUps: map[string]*bucket{}}
	d.mux = d.routes()
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
	if err := d.load(); err != nil {
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

// load reads the snapshot and the log. Stored bytes that are not a valid update
// (written by an older version that checked less) are moved to the yquarantine
// table, with a logged reason, and left out.
func (d *Document) load() error {
	q := d.st.SQL()
	var snap []byte
	err := q.QueryRow(`SELECT data, upto FROM ysnapshot WHERE id = 1`).Scan(&snap, &d.stateSeq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	d.lastSeq = d.stateSeq
	if len(snap) > 0 {
		if u, err := yupdate.Parse(snap); err != nil {
			if err := d.quarantine("snapshot", snap, err); err != nil {
				return err
			}
			if _, err := q.Exec(`DELETE FROM ysnapshot`); err != nil {
				return err
			}
		} else {
			d.state = u
		}
	}
	rows, err := q.Query(`SELECT seq, data FROM ylog ORDER BY seq`)
	if err != nil {
		return err
	}
	type row struct {
		seq  int64
		data []byte
	}
	var bad []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.seq, &r.data); err != nil {
			rows.Close()
			return err
		}
		d.lastSeq = r.seq
		u, err := yupdate.Parse(r.data)
		if err != nil {
			bad = append(bad, r)
			continue
		}
		d.logRows, d.logBytes = d.logRows+1, d.logBytes+int64(len(r.data))
		d.appendTail(u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range bad {
		if err := d.quarantine(fmt.Sprintf("log row %d", r.seq), r.data, errors.New("not a valid update")); err != nil {
			return err
		}
		if _, err := q.Exec(`DELETE FROM ylog WHERE seq = ?`, r.seq); err != nil {
			return err
		}
	}
	return nil
}

func (d *Document) quarantine(what string, data []byte, reason error) error {
	d.st.Logger().Error("stored update is not valid: moved to yquarantine", "what", what, "bytes", len(data), "err", reason)
	q := d.st.SQL()
	if _, err := q.Exec(`CREATE TABLE IF NOT EXISTS yquarantine (id INTEGER PRIMARY KEY AUTOINCREMENT, what TEXT NOT NULL, reason TEXT NOT NULL, data BLOB NOT NULL)`); err != nil {
		return err
	}
	_, err := q.Exec(`INSERT INTO yquarantine (what, reason, data) VALUES (?, ?, ?)`, what, reason.Error(), data)
	return err
}

func (d *Document) appendTail(u *yupdate.Update) {
	d.tail = append(d.tail, u)
	d.tailBytes += len(u.Bytes())
	d.tailStructs += u.Structs()
}

// current returns the whole document as one update: the state with the tail
// folded in.
func (d *Document) current() (*yupdate.Update, error) {
	if len(d.tail) == 0 {
		return d.state, nil
	}
	m, err := yupdate.Merge(append([]*yupdate.Update{d.state}, d.tail...)...)
	if err != nil {
		return nil, fmt.Errorf("merge the log: %w", err)
	}
	d.state, d.stateSeq = m, d.lastSeq
	d.tail, d.tailBytes, d.tailStructs = nil, 0, 0
	return m, nil
}

// OnConnect sends the server's sync step 1 and the current awareness states.
func (d *Document) OnConnect(ctx context.Context, ws *object.WebSocket, r *http.Request) error {
	ro, _ := r.Context().Value(readOnlyKey{}).(bool)
	if err := ws.SetAttachmentJSON(socketInfo{ReadOnly: ro, Addr: server.ClientAddr(r)}); err != nil {
		return err
	}
	cur, err := d.current()
	if err != nil {
		return err
	}
	if err := ws.SendBinary(syncFrame(syncStep1, yupdate.EncodeStateVector(cur.StateVector()))); err != nil {
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
			info, _ := object.AttachmentOf[socketInfo](ws)
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

// sendState answers sync step 1 with step 2: one update holding everything the
// peer (with that state vector) misses.
func (d *Document) sendState(ws *object.WebSocket, svBytes []byte) error {
	sv, err := yupdate.DecodeStateVector(svBytes)
	if err != nil {
		return ws.Close(4400, "malformed state vector")
	}
	if !d.limits.of(ws).syncs.take(d.st.Now(), 1, 1/syncInterval.Seconds(), syncBurst) {
		return ws.Close(4429, "too many sync requests")
	}
	cur, err := d.current()
	if err != nil {
		return err
	}
	diff := cur.Diff(sv)
	if !d.catchUpBudget(ws).take(d.st.Now(), float64(len(diff)), float64(d.policy.CatchUpRate), float64(d.policy.CatchUpBurst)) {
		return ws.Close(4429, "too many catch-ups for this address: reconnect later")
	}
	return ws.SendBinary(syncFrame(syncStep2, diff))
}

// maxCatchUpAddresses bounds the addresses whose catch-up buckets a document
// keeps; past it they all start again full.
const maxCatchUpAddresses = 10000

func (d *Document) catchUpBudget(ws *object.WebSocket) *bucket {
	info, _ := object.AttachmentOf[socketInfo](ws)
	b := d.catchUps[info.Addr]
	if b == nil {
		if len(d.catchUps) >= maxCatchUpAddresses {
			clear(d.catchUps)
		}
		b = &bucket{}
		d.catchUps[info.Addr] = b
	}
	return b
}

// update validates an update, appends it to the log and relays it.
func (d *Document) update(from *object.WebSocket, payload []byte) error {
	u, err := yupdate.Parse(payload)
	if err != nil {
		return from.Close(4400, "malformed update")
	}
	if u.Empty() {
		return nil
	}
	if !d.limits.of(from).updates.take(d.st.Now(), float64(len(payload)+updateOverhead), float64(d.policy.UpdateRate), float64(d.policy.UpdateBurst)) {
		return from.Close(4429, "too many update bytes: reconnect later")
	}
	if err := d.admit(u); err != nil {
		if errors.Is(err, errDocumentFull) {
			return from.Close(4413, err.Error())
		}
		return err
	}
	res, err := d.st.SQL().Exec(`INSERT INTO ylog (data) VALUES (?)`, payload)
	if err != nil {
		return err
	}
	d.lastSeq, d.logRows, d.logBytes = res.LastInsertID, d.logRows+1, d.logBytes+int64(len(payload))
	d.appendTail(u)
	d.st.Broadcast(object.BinaryMessage(syncFrame(syncUpdate, payload)), from)
	return d.scheduleCompaction()
}

// admit reports errDocumentFull when u would take the document past its
// limits. The state and the tail together bound the merged size from above
// (the tail may repeat what the state has); only when that bound is over the
// limit is the tail folded in to know, at most once a second.
func (d *Document) admit(u *yupdate.Update) error {
	fits := func() bool {
		return len(d.state.Bytes())+d.tailBytes+len(u.Bytes()) <= d.policy.MaxDocumentBytes &&
			d.state.Structs()+d.tailStructs+u.Structs() <= d.policy.MaxDocumentStructs
	}
	if fits() {
		return nil
	}
	if now := d.st.Now(); len(d.tail) > 0 && now.Sub(d.lastFold) >= time.Second {
		d.lastFold = now
		if _, err := d.current(); err != nil {
			return err
		}
		if fits() {
			return nil
		}
	}
	return errDocumentFull
}

// scheduleCompaction compacts at once past the size bounds, else makes sure the
// alarm fires by the time the log is due (CompactQuiet after the last update, at
// most CompactMax after the first). An alarm already set earlier is left as it is:
// when it fires, Alarm sets it again for the time now due if that is later. So a
// typed update does not write the alarm (it did on every update: a row and an index
// entry in every commit); a few re-arms per compaction do.
func (d *Document) scheduleCompaction() error {
	now := d.st.Now()
	if d.logBytes >= d.policy.CompactBytes || d.logRows >= d.policy.CompactRows {
		return d.compact()
	}
	if d.firstDirty.IsZero() {
		d.firstDirty = now
	}
	d.lastUpdate = now
	at := d.compactionDue()
	if !d.alarmAt.IsZero() && !d.alarmAt.After(at) {
		return nil
	}
	return d.setAlarm(at)
}

// compactionDue is when the log must be compacted, given the updates so far.
func (d *Document) compactionDue() time.Time {
	at := d.lastUpdate.Add(d.policy.CompactQuiet)
	if max := d.firstDirty.Add(d.policy.CompactMax); max.Before(at) {
		at = max
	}
	return at
}

func (d *Document) setAlarm(at time.Time) error {
	if err := d.st.SetAlarm(at); err != nil {
		return err
	}
	d.alarmAt = at
	return nil
}

// Alarm compacts the log once it is due (scheduleCompaction), else sets the alarm
// again for when it will be. An instance that appended nothing (a restart) compacts.
func (d *Document) Alarm(ctx context.Context, info object.AlarmInfo) error {
	d.alarmAt = time.Time{}
	if !d.lastUpdate.IsZero() && d.logRows > 0 {
		if at := d.compactionDue(); d.st.Now().Before(at) {
			return d.setAlarm(at)
		}
	}
	return d.compact()
}

// compact writes the merged state as the snapshot and deletes the log rows it
// holds: all of them. Structs that cannot be integrated yet (their dependencies
// missing) are part of the state like any other and cost only their bytes.
func (d *Document) compact() error {
	d.firstDirty, d.lastUpdate = time.Time{}, time.Time{}
	if d.logRows == 0 {
		return nil
	}
	cur, err := d.current()
	if err != nil {
		return err
	}
	q := d.st.SQL()
	if _, err := q.Exec(`INSERT INTO ysnapshot (id, data, upto) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, upto = excluded.upto`, cur.Bytes(), d.stateSeq); err != nil {
		return err
	}
	if _, err := q.Exec(`DELETE FROM ylog WHERE seq <= ?`, d.stateSeq); err != nil {
		return err
	}
	d.logRows, d.logBytes = 0, 0
	d.compacted++
	compactions.Add(1)
	return nil
}

// docState is the merged state of a document for the text endpoint: State is
// nil when the caller already has Seq's.
type docState struct {
	Seq   int64  `json:"seq"`
	State []byte `json:"state,omitempty"`
}

// The document's RPC methods, listed when "document" is registered.
var (
	mergedStateOf   = object.NewMethod("merged-state", (*Document).mergedState)
	documentMethods = object.Methods(mergedStateOf)
)

// mergedState is the RPC behind GET text: the document's state unless the
// caller has the one of log row have.
func (d *Document) mergedState(ctx context.Context, have int64) (docState, error) {
	if have == d.lastSeq && have != 0 {
		return docState{Seq: have}, nil
	}
	cur, err := d.current()
	if err != nil {
		return docState{}, err
	}
	return docState{Seq: d.lastSeq, State: cur.Bytes()}, nil
}

// fullState returns the document as a list of updates (one: the merged state).
func (d *Document) fullState() ([][]byte, error) {
	cur, err := d.current()
	if err != nil {
		return nil, err
	}
	return [][]byte{cur.Bytes()}, nil
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
	LogRows     int64 `json:"logRows"`
	LogBytes    int64 `json:"logBytes"`
	StateBytes  int   `json:"stateBytes"`  // the merged state at its last fold, and the log since
	Structs     int   `json:"structs"`     // likewise
	Compactions int64 `json:"compactions"` // by this instance
	Sockets     int   `json:"sockets"`
}

func (d *Document) stats() Stats {
	return Stats{LastSeq: d.lastSeq, LogRows: d.logRows, LogBytes: d.logBytes,
		StateBytes: len(d.state.Bytes()) + d.tailBytes, Structs: d.state.Structs() + d.tailStructs,
		Compactions: d.compacted, Sockets: len(d.st.WebSockets(""))}
}
