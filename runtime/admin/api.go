package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

func (h *handler) routes() {
	m := h.mux
	m.HandleFunc("GET "+Prefix+"{$}", h.handlePage)
	m.HandleFunc("GET "+Prefix+"assets/{file}", h.handleAsset)
	m.HandleFunc("POST "+Prefix+"login", h.handleLogin)
	m.HandleFunc("POST "+Prefix+"logout", h.handleLogout)
	api := Prefix + "api/"
	// In cluster mode a node's files are copies of the objects' logs: the routes that
	// read or change them answer 501 (nodeOnly); history (bookmarks, restores), which
	// works on the logs from any node, and this node's namespaces and stats are served.
	m.HandleFunc("GET "+api+"namespaces", h.authed(h.handleNamespaces))
	m.HandleFunc("GET "+api+"objects/{ns}", h.authed(h.nodeOnly(h.handleList)))
	m.HandleFunc("GET "+api+"objects/{ns}/{ref}", h.authed(h.nodeOnly(h.handleInspect)))
	m.HandleFunc("DELETE "+api+"objects/{ns}/{ref}", h.authed(h.nodeOnly(h.handleDelete)))
	m.HandleFunc("GET "+api+"objects/{ns}/{ref}/kv", h.authed(h.nodeOnly(h.handleKV)))
	m.HandleFunc("POST "+api+"objects/{ns}/{ref}/sql", h.authed(h.nodeOnly(h.handleSQL)))
	m.HandleFunc("GET "+api+"objects/{ns}/{ref}/export", h.authed(h.nodeOnly(h.handleExport)))
	m.HandleFunc("GET "+api+"objects/{ns}/{ref}/bookmark", h.authed(h.handleBookmark))
	m.HandleFunc("POST "+api+"objects/{ns}/{ref}/restore-bookmark", h.authed(h.handleRestoreBookmark))
	m.HandleFunc("POST "+api+"backup", h.authed(h.nodeOnly(h.handleBackup)))
	m.HandleFunc("POST "+api+"restore", h.authed(h.nodeOnly(h.handleRestore)))
	m.HandleFunc("GET "+api+"stats", h.authed(h.handleStats))
	m.HandleFunc(api, h.authed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such admin API route: "+r.Method+" "+r.URL.Path)
	}))
}

// nodeOnly refuses a route in cluster mode with 501: it works on this node's copy
// of an object (a cache of its log there, stale or absent on a node that does not
// own it), so it would answer or change the wrong thing.
func (h *handler) nodeOnly(next http.HandlerFunc) http.HandlerFunc {
	if h.rt.Config().Cluster == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotImplemented, "not available in cluster mode: this operation works on one node's copy of an object; bookmarks and restore-bookmark work from any node")
	}
}

// maxRequestBody bounds a JSON request body of the API.
const maxRequestBody = 1 << 20

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// fail answers an error of the runtime with the status it calls for.
func fail(w http.ResponseWriter, err error) { failOr(w, err, http.StatusInternalServerError) }

// failOr is fail with the status of an error that names no condition: 400 for the
// SQL console, whose other errors are the operator's SQL's.
func failOr(w http.ResponseWriter, err error, code int) {
	switch {
	case errors.Is(err, object.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, object.ErrInvalidArgument), errors.Is(err, object.ErrInvalidID), errors.Is(err, object.ErrInvalidName),
		errors.Is(err, object.ErrSQLNotAllowed), errors.Is(err, errBadRequest):
		code = http.StatusBadRequest
	case errors.Is(err, object.ErrCorrupt):
		code = http.StatusUnprocessableEntity
	case errors.Is(err, object.ErrOverloaded), errors.Is(err, object.ErrClosed):
		code = http.StatusServiceUnavailable
	}
	writeError(w, code, err.Error())
}

var errBadRequest = errors.New("bad request")

func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: request body: %v", errBadRequest, err)
	}
	return nil
}

func intParam(r *http.Request, name string) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: %s must be a non-negative integer", errBadRequest, name)
	}
	return n, nil
}

func (h *handler) handleNamespaces(w http.ResponseWriter, r *http.Request) {
	nss, err := h.rt.Namespaces()
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, nss)
}

func (h *handler) handleList(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, "limit")
	if err != nil {
		fail(w, err)
		return
	}
	q := r.URL.Query()
	list, err := h.rt.ListObjects(r.Context(), r.PathValue("ns"), object.ObjectListOptions{
		Prefix: q.Get("prefix"), Sort: q.Get("sort"), Limit: limit, Cursor: q.Get("cursor")})
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, list)
}

func (h *handler) local() Local { return Local{RT: h.rt} }

func (h *handler) handleInspect(w http.ResponseWriter, r *http.Request) {
	d, err := h.local().Inspect(r.Context(), r.PathValue("ns"), r.PathValue("ref"))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, d)
}

func (h *handler) handleDelete(w http.ResponseWriter, r *http.Request) {
	if err := h.local().Delete(r.Context(), r.PathValue("ns"), r.PathValue("ref")); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) handleKV(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("ns")
	id, err := h.rt.ParseObject(ns, r.PathValue("ref"))
	limit, lerr := intParam(r, "limit")
	if err == nil {
		err = lerr
	}
	if err == nil {
		var page object.KVPage
		q := r.URL.Query()
		if page, err = h.rt.KVEntries(r.Context(), ns, id, q.Get("prefix"), q.Get("after"), limit); err == nil {
			writeJSON(w, page)
			return
		}
	}
	fail(w, err)
}

// SQLRequest is the body of POST .../sql.
type SQLRequest struct {
	Query   string `json:"query"`
	Write   bool   `json:"write,omitempty"`
	MaxRows int    `json:"max_rows,omitempty"`
}

func (h *handler) handleSQL(w http.ResponseWriter, r *http.Request) {
	var req SQLRequest
	if err := decodeBody(w, r, &req); err != nil {
		fail(w, err)
		return
	}
	res, err := h.local().SQL(r.Context(), r.PathValue("ns"), r.PathValue("ref"), req)
	if err != nil {
		failOr(w, err, http.StatusBadRequest)
		return
	}
	writeJSON(w, res)
}

func (h *handler) handleExport(w http.ResponseWriter, r *http.Request) {
	ns, ref, format := r.PathValue("ns"), r.PathValue("ref"), r.URL.Query().Get("format")
	d, err := h.local().Inspect(r.Context(), ns, ref)
	if err == nil && format != "" && format != "json" && format != "sqlite" {
		err = fmt.Errorf("%w: format %q (want json or sqlite)", errBadRequest, format)
	}
	if err != nil {
		fail(w, err)
		return
	}
	ext, ctype := "json", "application/json"
	if format == "sqlite" {
		ext, ctype = "sqlite", "application/vnd.sqlite3"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+ns+"-"+d.ID[:16]+"."+ext+`"`)
	if err := h.local().Export(r.Context(), ns, d.ID, format, w); err != nil {
		// The status is sent; cut the body so that the client sees a broken download.
		panic(http.ErrAbortHandler)
	}
}

// BackupRequest is the body of POST /_warren/api/backup and /restore: a backup's name
// under the server's backup folder, and optionally one namespace or one object.
type BackupRequest struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Object    string `json:"object,omitempty"` // name or ID; needs Namespace
}

// BackupResponse answers a backup or a restore.
type BackupResponse struct {
	Name    string               `json:"name"`
	Dir     string               `json:"dir"`
	Objects []object.BackupEntry `json:"objects"`
}

var backupNameRE = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$`)

// backupRequest decodes a backup or restore request and turns its name into the
// folder under the backup directory.
func (h *handler) backupRequest(w http.ResponseWriter, r *http.Request, defaultName bool) (BackupRequest, string, error) {
	var req BackupRequest
	if err := decodeBody(w, r, &req); err != nil {
		return req, "", err
	}
	if req.Name == "" && defaultName {
		req.Name = time.Now().UTC().Format("20060102T150405Z")
	}
	if !backupNameRE.MatchString(req.Name) {
		return req, "", fmt.Errorf("%w: backup name %q: 1 to 100 letters, digits, '.', '_' or '-', not starting with '.'", errBadRequest, req.Name)
	}
	return req, req.Name, nil
}

func (h *handler) handleBackup(w http.ResponseWriter, r *http.Request) { h.backupOrRestore(w, r, true) }

func (h *handler) handleRestore(w http.ResponseWriter, r *http.Request) {
	h.backupOrRestore(w, r, false)
}

func (h *handler) backupOrRestore(w http.ResponseWriter, r *http.Request, backup bool) {
	req, name, err := h.backupRequest(w, r, backup)
	if err != nil {
		fail(w, err)
		return
	}
	req.Name = filepath.Join(h.cfg.BackupDir, name)
	var res BackupResponse
	if backup {
		res, err = h.local().Backup(r.Context(), req)
	} else {
		res, err = h.local().Restore(r.Context(), req)
	}
	if err != nil {
		fail(w, err)
		return
	}
	res.Name = name
	writeJSON(w, res)
}

// BookmarkResponse answers GET .../bookmark (Bookmark, and the bytes the object's
// history takes on disk) and POST .../restore-bookmark (the Bookmark restored to,
// and Undo, the bookmark of the state it replaced).
type BookmarkResponse struct {
	Bookmark     string `json:"bookmark"`
	Undo         string `json:"undo,omitempty"`
	HistoryBytes int64  `json:"history_bytes,omitempty"`
}

// RestoreBookmarkRequest is the body of POST .../restore-bookmark.
type RestoreBookmarkRequest struct {
	Bookmark string `json:"bookmark"`
}

// handleBookmark answers the bookmark of the object's state at ?at= (RFC 3339), or
// of its last commit without it.
func (h *handler) handleBookmark(w http.ResponseWriter, r *http.Request) {
	var at time.Time
	if s := r.URL.Query().Get("at"); s != "" {
		var err error
		if at, err = time.Parse(time.RFC3339Nano, s); err != nil {
			fail(w, fmt.Errorf("%w: at: want an RFC 3339 time such as 2026-01-02T15:04:05Z: %v", errBadRequest, err))
			return
		}
	}
	res, err := h.local().Bookmark(r.Context(), r.PathValue("ns"), r.PathValue("ref"), at)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, res)
}

func (h *handler) handleRestoreBookmark(w http.ResponseWriter, r *http.Request) {
	var req RestoreBookmarkRequest
	if err := decodeBody(w, r, &req); err != nil {
		fail(w, err)
		return
	}
	res, err := h.local().RestoreBookmark(r.Context(), r.PathValue("ns"), r.PathValue("ref"), req.Bookmark)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, res)
}

// Stats is the body of GET /_warren/api/stats: what the inspector charts.
type Stats struct {
	At      time.Time              `json:"at"`
	Runtime object.Stats           `json:"runtime"`
	Sockets object.SocketStats     `json:"sockets"`
	Top     []object.ObjectMetrics `json:"top"`
}

func (h *handler) handleStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, Stats{At: time.Now().UTC(), Runtime: h.rt.Stats(), Sockets: h.rt.SocketStats(), Top: h.rt.TopObjects(20)})
}
