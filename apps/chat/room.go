package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/server"
)

// Message is one chat message as stored and as sent. The first four fields are
// durable-chat-template's; the rest are additive.
type Message struct {
	ID        string `json:"id"`
	Content   string `json:"content"`
	User      string `json:"user"`
	Role      string `json:"role"`
	Seq       int64  `json:"seq"`                // position in the room, from 1, never reused
	Rev       int64  `json:"rev"`                // room-wide change counter of the last add/edit/delete
	CreatedAt int64  `json:"createdAt"`          // unix milliseconds
	EditedAt  int64  `json:"editedAt,omitempty"` // unix milliseconds of the last edit
	Deleted   bool   `json:"deleted,omitempty"`
	UID       string `json:"uid"` // public id of the author (a hash of their secret token)
}

// messageFrame is a message with its frame type at the top level, as the template sends.
type messageFrame struct {
	Type string `json:"type"`
	Message
}

// peer is what a socket's attachment holds: who is behind it. It survives hibernation.
type peer struct {
	UID    string `json:"uid"`
	Name   string `json:"name"`             // as shown (see shownName), "" when none was given
	Ext    bool   `json:"ext"`              // connected with ?proto=1: receives chat:* frames
	Proven bool   `json:"proven,omitempty"` // the uid comes from a token, not from the connection
	Addr   string `json:"addr"`             // the client address (server.ClientAddr), for the per-address limit
}

// Room is one chat room: an object of namespace "chat", named by the URL.
//
// Guarantees: every accepted add, edit and delete is stored before anyone hears of
// it (turns are transactions, sends are output-gated); each change gets the next
// room-wide rev, so a client that resumes with ?since=<last rev it saw> receives
// exactly the changes it missed; only the author (same secret token, or for
// token-less clients the same connection id) can edit or delete a message.
type Room struct {
	st      *object.State
	limits  Limits
	lim     *limiter
	seq     int64 // highest message seq
	indexed int64 // messages up to this seq are in the full-text index (searchindex.go)
	rev     int64 // highest rev
	names   int   // reserved names
	typing  map[string]typingState
}

// typingState is the last typing state relayed for a user.
type typingState struct {
	on bool
	at time.Time
}

// typingEvery is how often an unchanged "typing" state is relayed again (clients
// expire it after a few seconds); changes are relayed at once.
const typingEvery = 2 * time.Second

// roomMigrations are the room's schema versions (object.Migrate): 1 creates the
// messages, their full-text index and the reserved names, IF NOT EXISTS because
// rooms made before Migrate have them at version 0. Append new steps; never edit a
// shipped one.
var roomMigrations = []object.Migration{object.Statements(roomV1 + namesSchema)}

const roomV1 = `
CREATE TABLE IF NOT EXISTS messages(
  seq     INTEGER PRIMARY KEY,
  id      TEXT NOT NULL UNIQUE,
  uid     TEXT NOT NULL,
  user    TEXT NOT NULL,
  role    TEXT NOT NULL,
  content TEXT NOT NULL,
  created INTEGER NOT NULL,
  edited  INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  rev     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_rev ON messages(rev);
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content, tokenize='unicode61 remove_diacritics 2');
`

// newRoom is the constructor: it migrates the schema and loads the counters.
func newRoom(ctx context.Context, st *object.State, limits Limits) (*Room, error) {
	limits = limits.withDefaults()
	r := &Room{st: st, limits: limits, lim: newLimiter(limits), typing: map[string]typingState{}}
	if err := object.Migrate(st, roomMigrations...); err != nil {
		return nil, fmt.Errorf("chat: schema: %w", err)
	}
	err := st.SQL().QueryRow(`SELECT coalesce(max(seq),0), coalesce(max(rev),0), (SELECT count(*) FROM names) FROM messages`).Scan(&r.seq, &r.rev, &r.names)
	if err != nil {
		return nil, err
	}
	return r, r.loadIndexed()
}

// OnConnect identifies the peer, sends the history (or the changes since ?since=)
// and announces the peer to the others.
//
// Query parameters: proto=1 (receive chat:* frames), token (the user's secret, 16 to
// 128 of [A-Za-z0-9_-]), name (display name), since (last rev seen, to resume).
func (r *Room) OnConnect(ctx context.Context, ws *object.WebSocket, req *http.Request) error {
	q := req.URL.Query()
	p := peer{Ext: q.Get("proto") == "1", Addr: server.ClientAddr(req)}
	if tok := q.Get("token"); tok != "" {
		if !server.ValidToken(tok) {
			return &object.CloseError{Code: CloseInvalid, Reason: "invalid token: 16 to 128 of A-Z a-z 0-9 _ -"}
		}
		p.UID, p.Proven = uidOf("token:"+tok), true
	} else {
		p.UID = uidOf("conn:" + ws.ID())
	}
	if name := q.Get("name"); validateName(name) == nil {
		var err error
		if p.Name, err = r.shownName(p.UID, p.Proven, name); err != nil {
			return err
		}
	}
	tag := "basic"
	if p.Ext {
		tag = "ext"
	}
	if err := ws.SetTags(tag); err != nil {
		return err
	}
	if err := ws.SetAttachmentJSON(p); err != nil {
		return err
	}
	if p.Ext {
		send(ws, map[string]any{"type": TypeWelcome, "uid": p.UID, "name": p.Name, "rev": r.rev,
			"limits": map[string]any{"content": MaxContentBytes, "name": MaxNameBytes, "burst": r.limits.Burst, "rate": r.limits.Rate}})
	}
	if err := r.sendInitial(ws, p.Ext, q.Get("since")); err != nil {
		return err
	}
	if (p.Ext || p.Name != "") && r.lim.announce(r.st.Now(), p) {
		r.announce(ws, p, TypeJoin)
	}
	return nil
}

// sendInitial sends "all" (the latest page), or chat:resume with the first page of
// the changes after since when the client can resume.
func (r *Room) sendInitial(ws *object.WebSocket, ext bool, sinceParam string) error {
	since, err := strconv.ParseInt(sinceParam, 10, 64)
	if ext && err == nil && since > 0 {
		return r.sendResume(ws, since)
	}
	return r.sendAll(ws)
}

// sendAll sends the latest page of live messages.
func (r *Room) sendAll(ws *object.WebSocket) error {
	limit, ferr := r.lim.catchupRoom(r.st.Now(), ws)
	if ferr != nil {
		limit = minPage // "all" resets the client: never refused, kept small
	}
	p, more, err := r.latest(0, PageSize, limit)
	if err != nil {
		return err
	}
	r.lim.spendCatchup(ws, p.bytes)
	send(ws, map[string]any{"type": TypeAll, "messages": p.msgs, "hasMore": more, "rev": r.rev})
	return nil
}

// sendResume sends the next page of the changes after since, or "all" when the
// client is too far behind (or ahead: another room's revs) to resume.
func (r *Room) sendResume(ws *object.WebSocket, since int64) error {
	if since > r.rev || r.rev-since > MaxResume {
		return r.sendAll(ws)
	}
	limit, ferr := r.lim.catchupRoom(r.st.Now(), ws)
	if ferr != nil {
		return ferr
	}
	p, upto, more, err := r.changes(since, limit)
	if err != nil {
		return err
	}
	r.lim.spendCatchup(ws, p.bytes)
	send(ws, map[string]any{"type": TypeResume, "messages": p.msgs, "rev": upto, "more": more})
	return nil
}

// OnMessage handles one client frame. Invalid or refused frames are answered (see
// refuse): a chat:error frame, or what a stock template client understands.
func (r *Room) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	p, err := object.AttachmentOf[peer](ws)
	if err != nil {
		return err
	}
	f, err := DecodeFrame(m.Data)
	if err == nil {
		err = r.handle(ws, p, f)
	}
	var fe *FrameError
	if errors.As(err, &fe) {
		return r.refuse(ws, p, f, fe)
	}
	return err
}

// broadcasts are the frame types relayed to the room, which also draw from its
// room-wide bucket.
var broadcasts = map[string]bool{TypeAdd: true, TypeUpdate: true, TypeDelete: true, TypeTyping: true}

func (r *Room) handle(ws *object.WebSocket, p peer, f ClientFrame) error {
	if err := r.lim.allow(r.st.Now(), p, broadcasts[f.Type]); err != nil {
		err.ID = f.ID
		return err
	}
	switch f.Type {
	case TypeAdd, TypeUpdate:
		return r.upsert(ws, p, f)
	case TypeDelete:
		return r.delete(p, f.ID)
	case TypeResume:
		return r.sendResume(ws, f.Since)
	case TypeHistory:
		limit, ferr := r.lim.catchupRoom(r.st.Now(), ws)
		if ferr != nil {
			return ferr
		}
		pg, more, err := r.latest(f.Before, f.Limit, limit)
		if err != nil {
			return err
		}
		r.lim.spendCatchup(ws, pg.bytes)
		send(ws, map[string]any{"type": TypeHistory, "messages": pg.msgs, "hasMore": more, "before": f.Before})
	case TypeSearch:
		limit, ferr := r.lim.catchupRoom(r.st.Now(), ws)
		if ferr != nil {
			return ferr
		}
		msgs, err := r.search(f.Q)
		if err != nil {
			return err
		}
		pg := fit(msgs, limit)
		r.lim.spendCatchup(ws, pg.bytes)
		send(ws, map[string]any{"type": TypeSearch, "q": f.Q, "messages": pg.msgs})
	case TypeTyping:
		return r.relayTyping(ws, p, f)
	}
	return nil
}

// relayTyping relays a typing state to the other extended clients when it
// changed, or when it is "typing" and was last relayed typingEvery ago. The name
// is the one the sender connected with, else the frame's (as shownName gives it).
func (r *Room) relayTyping(ws *object.WebSocket, p peer, f ClientFrame) error {
	now := r.st.Now()
	if last, ok := r.typing[p.UID]; ok && last.on == f.Typing && (!f.Typing || now.Sub(last.at) < typingEvery) {
		return nil
	}
	name := p.Name
	if name == "" && f.User != "" {
		var err error
		if name, err = r.shownName(p.UID, p.Proven, f.User); err != nil {
			return err
		}
	}
	if len(r.typing) >= maxBuckets {
		clear(r.typing)
	}
	r.typing[p.UID] = typingState{on: f.Typing, at: now}
	r.toExt(map[string]any{"type": TypeTyping, "uid": p.UID, "name": name, "typing": f.Typing}, ws)
	return nil
}

// upsert stores an add or update. An add whose id exists is a resend: the stored
// message goes back to the sender (so a retried send never duplicates), unless the
// content differs, which makes it an edit. An update of an unknown id is an add, as
// in the template.
func (r *Room) upsert(ws *object.WebSocket, p peer, f ClientFrame) error {
	old, err := r.get(f.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return r.add(p, f)
	}
	if err != nil {
		return err
	}
	if old.UID != p.UID {
		return &FrameError{Code: ErrForbidden, ID: f.ID, Message: "only its author can change this message"}
	}
	if old.Deleted {
		return &FrameError{Code: ErrNotFound, ID: f.ID, Message: "this message was deleted"}
	}
	if old.Content == f.Content {
		send(ws, messageFrame{Type: TypeAdd, Message: old}) // idempotent resend
		return nil
	}
	return r.edit(old, f.Content)
}

func (r *Room) add(p peer, f ClientFrame) error {
	user, err := r.shownName(p.UID, p.Proven, f.User)
	if err != nil {
		return err
	}
	m := Message{ID: f.ID, Content: f.Content, User: user, Role: f.Role, Seq: r.seq + 1, Rev: r.rev + 1,
		CreatedAt: r.st.Now().UnixMilli(), UID: p.UID}
	if _, err := r.st.SQL().Exec(`INSERT INTO messages(seq,id,uid,user,role,content,created,rev) VALUES(?,?,?,?,?,?,?,?)`,
		m.Seq, m.ID, m.UID, m.User, m.Role, m.Content, m.CreatedAt, m.Rev); err != nil {
		return err
	}
	r.seq, r.rev = m.Seq, m.Rev
	if r.seq-r.indexed >= indexBatch {
		if err := r.indexWaiting(); err != nil {
			return err
		}
	}
	r.toAll(messageFrame{Type: TypeAdd, Message: m})
	return nil
}

func (r *Room) edit(m Message, content string) error {
	m.Content, m.EditedAt, m.Rev = content, r.st.Now().UnixMilli(), r.rev+1
	if _, err := r.st.SQL().Exec(`UPDATE messages SET content=?, edited=?, rev=? WHERE seq=?`, m.Content, m.EditedAt, m.Rev, m.Seq); err != nil {
		return err
	}
	if _, err := r.st.SQL().Exec(`UPDATE messages_fts SET content=? WHERE rowid=?`, m.Content, m.Seq); err != nil {
		return err
	}
	r.rev = m.Rev
	r.toAll(messageFrame{Type: TypeUpdate, Message: m})
	return nil
}

// delete blanks the author's message; everyone gets an update with deleted:true.
func (r *Room) delete(p peer, id string) error {
	m, err := r.get(id)
	if errors.Is(err, sql.ErrNoRows) || err == nil && m.Deleted {
		return &FrameError{Code: ErrNotFound, ID: id, Message: "no such message"}
	}
	if err != nil {
		return err
	}
	if m.UID != p.UID {
		return &FrameError{Code: ErrForbidden, ID: id, Message: "only its author can delete this message"}
	}
	m.Content, m.Deleted, m.Rev = "", true, r.rev+1
	if _, err := r.st.SQL().Exec(`UPDATE messages SET content='', deleted=1, rev=? WHERE seq=?`, m.Rev, m.Seq); err != nil {
		return err
	}
	if _, err := r.st.SQL().Exec(`DELETE FROM messages_fts WHERE rowid=?`, m.Seq); err != nil {
		return err
	}
	r.rev = m.Rev
	r.toAll(messageFrame{Type: TypeUpdate, Message: m})
	return nil
}

// OnClose announces that the peer left when it was their last socket.
func (r *Room) OnClose(ctx context.Context, ws *object.WebSocket, code int, reason string, clean bool) error {
	r.lim.forget(ws)
	if p, _ := object.AttachmentOf[peer](ws); (p.Ext || p.Name != "") && r.lim.announce(r.st.Now(), p) {
		r.announce(ws, p, TypeLeave)
	}
	return nil
}

// announce sends join or leave to the extended clients when ws is the peer's only
// socket, then the presence list.
func (r *Room) announce(ws *object.WebSocket, p peer, typ string) {
	users := r.presence()
	alone := true
	for _, s := range r.st.WebSockets("") {
		if s != ws {
			if q, _ := object.AttachmentOf[peer](s); q.UID == p.UID {
				alone = false
			}
		}
	}
	if alone {
		r.toExt(map[string]any{"type": typ, "uid": p.UID, "name": p.Name, "at": r.st.Now().UnixMilli()}, ws)
	}
	r.toExt(map[string]any{"type": TypePresence, "users": users})
}

// maxPresence bounds the users listed in one chat:presence frame.
const maxPresence = 200

type presenceUser struct {
	UID  string `json:"uid"`
	Name string `json:"name"`
}

// presence lists the named users with an open socket, once each.
func (r *Room) presence() []presenceUser {
	seen := map[string]bool{}
	users := []presenceUser{}
	for _, s := range r.st.WebSockets("") {
		p, _ := object.AttachmentOf[peer](s)
		if seen[p.UID] || p.Name == "" {
			continue
		}
		seen[p.UID] = true
		if users = append(users, presenceUser{p.UID, p.Name}); len(users) == maxPresence {
			break
		}
	}
	return users
}

const cols = `id, content, user, role, seq, rev, created, edited, deleted, uid`

func scanMessage(sc interface{ Scan(...any) error }) (Message, error) {
	var m Message
	err := sc.Scan(&m.ID, &m.Content, &m.User, &m.Role, &m.Seq, &m.Rev, &m.CreatedAt, &m.EditedAt, &m.Deleted, &m.UID)
	return m, err
}

func (r *Room) get(id string) (Message, error) {
	return scanMessage(r.st.SQL().QueryRow(`SELECT `+cols+` FROM messages WHERE id=?`, id))
}

func (r *Room) query(q string, args ...any) ([]Message, error) {
	rows, err := r.st.SQL().Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	msgs := []Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}

// search returns the newest 50 live messages matching every word of q (the last as
// a prefix), newest first.
func (r *Room) search(q string) ([]Message, error) {
	fq := ftsQuery(q)
	if fq == "" {
		return []Message{}, nil
	}
	if err := r.indexWaiting(); err != nil {
		return nil, err
	}
	return r.query(`SELECT m.id, m.content, m.user, m.role, m.seq, m.rev, m.created, m.edited, m.deleted, m.uid
		FROM messages_fts f JOIN messages m ON m.seq = f.rowid
		WHERE messages_fts MATCH ? AND m.deleted = 0 ORDER BY m.seq DESC LIMIT 50`, fq)
}

// toAll sends v to every socket; toExt to the extended clients, except the given sockets.
func (r *Room) toAll(v any) {
	b, _ := json.Marshal(v)
	r.st.Broadcast(object.TextMessage(string(b)))
}

func (r *Room) toExt(v any, except ...*object.WebSocket) {
	b, _ := json.Marshal(v)
	m := object.TextMessage(string(b))
outer:
	for _, ws := range r.st.WebSockets("ext") {
		for _, x := range except {
			if x == ws {
				continue outer
			}
		}
		ws.Send(m) // a closed socket is simply skipped
	}
}

func send(ws *object.WebSocket, v any) { ws.SendJSON(v) }

// uidOf derives a user's public id from their secret; the secret is never stored.
func uidOf(secret string) string { return server.PublicID("warren-chat-uid", secret) }

func nameOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
