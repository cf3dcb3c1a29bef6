package server

import (
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// Dist returns the sub-tree dir of embedded, for Config.Assets or App.Assets:
// an app embeds its built front end (//go:embed all:web/dist, which must stay in
// the app's own package) and passes Dist(dist, "web/dist"). It panics only on a
// programming error: dir is not a valid fs path (fs.ValidPath), such as one
// with "..", a leading or trailing slash, or "" (use "." for the root).
func Dist(embedded fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(embedded, dir)
	if err != nil {
		panic("server: Dist: " + err.Error())
	}
	return sub
}

// handleAssets serves Config.Assets; a path that names no file and has no extension
// gets index.html (client-side routing), anything else 404.
func (s *Server) handleAssets(c echo.Context) error {
	r := c.Request()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return c.String(http.StatusMethodNotAllowed, "method not allowed\n")
	}
	if s.cfg.Assets == nil {
		return c.String(http.StatusNotFound, "not found\n")
	}
	p := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if p == "" {
		p = "index.html"
	}
	if st, err := fs.Stat(s.cfg.Assets, p); err == nil && st.IsDir() {
		p = path.Join(p, "index.html")
	}
	if _, err := fs.Stat(s.cfg.Assets, p); errors.Is(err, fs.ErrNotExist) {
		if path.Ext(p) != "" {
			return c.String(http.StatusNotFound, "not found\n")
		}
		p = "index.html"
	}
	http.ServeFileFS(c.Response(), r, s.cfg.Assets, p)
	return nil
}
