package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// Index is the document list: one object ("all") in the unmounted namespace
// "index", holding every listed document's name, title and read-only token.
//
// A document's name is its edit capability (whoever knows it connects to
// /parties/document/<name> as an editor); its view token is a separate random
// secret that opens it read-only. The list shows titles and view tokens only, so
// it never gives anyone more than read access.
type Index struct{ st *object.State }

// DocInfo is one document, as its editors see it.
type DocInfo struct {
	Name      string    `json:"name"`
	Title     string    `json:"title"`
	Created   time.Time `json:"created"`
	ViewToken string    `json:"viewToken"`
}

// ListedDoc is one document of the public list: no name.
type ListedDoc struct {
	Title     string    `json:"title"`
	Created   time.Time `json:"created"`
	ViewToken string    `json:"viewToken"`
}

// The index's application errors: the caller learns why, the index keeps its turn.
var (
	errNoDoc    = object.NewError("no_document", "no such document").WithStatus(http.StatusNotFound)
	errBadTitle = object.NewError("bad_title", "title over 200 bytes")
)

// indexMigrations are the index's schema versions (object.Migrate); append new steps.
var indexMigrations = []object.Migration{
	object.Statements(`CREATE TABLE IF NOT EXISTS docs (name TEXT PRIMARY KEY, title TEXT NOT NULL, created INTEGER NOT NULL, view_token TEXT NOT NULL UNIQUE)`),
}

func newIndex(ctx context.Context, st *object.State) (*Index, error) {
	return &Index{st: st}, object.Migrate(st, indexMigrations...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func cleanTitle(t string) (string, error) {
	t = strings.TrimSpace(t)
	if t == "" {
		t = "Untitled"
	}
	if len(t) > 200 {
		return "", errBadTitle
	}
	return t, nil
}

// The index's RPC methods, listed when "index" is registered.
var (
	listDocs     = object.NewMethodNoArg("list", (*Index).list)
	createDoc    = object.NewMethod("create", (*Index).create)
	renameDoc    = object.NewMethod("rename", (*Index).rename)
	docInfo      = object.NewMethod("info", (*Index).info)
	resolveToken = object.NewMethod("resolve", (*Index).resolve)
	indexMethods = object.Methods(listDocs, createDoc, renameDoc, docInfo, resolveToken)
)

func (x *Index) list(ctx context.Context) ([]ListedDoc, error) {
	rows, err := x.st.SQL().Query(`SELECT title, created, view_token FROM docs ORDER BY created DESC, view_token`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ListedDoc{}
	for rows.Next() {
		var d ListedDoc
		var created int64
		if err := rows.Scan(&d.Title, &created, &d.ViewToken); err != nil {
			return nil, err
		}
		d.Created = time.UnixMilli(created).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

func (x *Index) get(name string) (DocInfo, error) {
	var d DocInfo
	var created int64
	err := x.st.SQL().QueryRow(`SELECT name, title, created, view_token FROM docs WHERE name = ?`, name).Scan(&d.Name, &d.Title, &created, &d.ViewToken)
	if errors.Is(err, sql.ErrNoRows) {
		return d, errNoDoc
	}
	if err != nil {
		return d, err
	}
	d.Created = time.UnixMilli(created).UTC()
	return d, nil
}

type createArgs struct {
	Name  string `json:"name"` // optional; random (128 bits) when empty
	Title string `json:"title"`
}

// secretBytes is the entropy of generated names and view tokens.
const secretBytes = 16

// create adds a document (or returns the existing one of that name: its caller
// knows the name, so it may edit it anyway).
func (x *Index) create(ctx context.Context, a createArgs) (DocInfo, error) {
	title, err := cleanTitle(a.Title)
	if err != nil {
		return DocInfo{}, err
	}
	if a.Name == "" {
		a.Name = randomHex(secretBytes)
	}
	if d, err := x.get(a.Name); err == nil {
		return d, nil
	}
	d := DocInfo{Name: a.Name, Title: title, Created: x.st.Now().UTC().Truncate(time.Millisecond), ViewToken: randomHex(secretBytes)}
	_, err = x.st.SQL().Exec(`INSERT INTO docs (name, title, created, view_token) VALUES (?, ?, ?, ?)`, d.Name, d.Title, d.Created.UnixMilli(), d.ViewToken)
	return d, err
}

func (x *Index) rename(ctx context.Context, a createArgs) (DocInfo, error) {
	title, err := cleanTitle(a.Title)
	if err != nil {
		return DocInfo{}, err
	}
	res, err := x.st.SQL().Exec(`UPDATE docs SET title = ? WHERE name = ?`, title, a.Name)
	if err != nil {
		return DocInfo{}, err
	}
	if res.RowsWritten == 0 {
		return DocInfo{}, errNoDoc
	}
	return x.get(a.Name)
}

func (x *Index) info(ctx context.Context, name string) (DocInfo, error) { return x.get(name) }

// resolve returns the document a read-only token opens.
func (x *Index) resolve(ctx context.Context, token string) (DocInfo, error) {
	var name string
	err := x.st.SQL().QueryRow(`SELECT name FROM docs WHERE view_token = ?`, token).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return DocInfo{}, errNoDoc
	}
	if err != nil {
		return DocInfo{}, err
	}
	return x.get(name)
}

// viewEndpoint serves /parties/view/<token>: the document behind a read-only
// token, over the same y-websocket protocol, with edits ignored. The document's
// name is never revealed to the viewer.
type viewEndpoint struct {
	docs  *object.Namespace[Document]
	index object.Stub[Index]
}

func (v *viewEndpoint) Name() string { return "view" }

func (v *viewEndpoint) ServeObject(w http.ResponseWriter, r *http.Request, token string) {
	d, err := resolveToken.Call(r.Context(), v.index, token)
	if err != nil {
		object.ReplyJSON(w, nil, err)
		return
	}
	if r.URL.Path != "/info" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if allowMethods(w, r, http.MethodGet) {
		object.ReplyJSON(w, map[string]string{"title": d.Title}, nil)
	}
}

func (v *viewEndpoint) AcceptSocket(r *http.Request, token, connID string) (*object.HostSocket, error) {
	d, err := resolveToken.Call(r.Context(), v.index, token)
	if errors.Is(err, errNoDoc) {
		return nil, fmt.Errorf("%w: no document for this token", object.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return v.docs.AcceptSocket(withReadOnly(r), d.Name, connID)
}
