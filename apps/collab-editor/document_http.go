package main

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// Version is a named snapshot.
type Version struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// routes are the document's HTTP API, below /parties/document/<name>:
//
//	GET  /text           the document's text (text/plain): served by textEndpoint, outside the turn
//	GET  /state          the full state: varuint n, then n varbytes Yjs updates
//	GET  /stats          storage statistics (JSON)
//	GET  /versions       named snapshots (JSON)
//	POST /versions       {"name"} (application/json): snapshot the document now; returns the Version
//	GET  /versions/{id}  the version's state, encoded like state
//
// Other methods get 405 with an Allow header, other paths 404 (http.ServeMux).
func (d *Document) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) { d.serveState(w) })
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) { object.ReplyJSON(w, d.stats(), nil) })
	mux.HandleFunc("GET /versions", func(w http.ResponseWriter, r *http.Request) { d.serveVersions(w) })
	mux.HandleFunc("POST /versions", d.saveVersion)
	mux.HandleFunc("GET /versions/{id}", func(w http.ResponseWriter, r *http.Request) { d.serveVersion(w, r.PathValue("id")) })
	return mux
}

// ServeHTTP serves the routes.
func (d *Document) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.mux.ServeHTTP(w, r) }

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
	object.ReplyJSON(w, vs, nil)
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
	object.ReplyJSON(w, v, nil)
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
