package admin

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
)

// dist holds the inspector's bundled front end (web/inspector, built by
// `npm run build` into runtime/admin/dist). Without it the API still works and the
// page says how to build it.
//
//go:embed all:dist
var dist embed.FS

// loginPage is served instead of the inspector to a browser without the session.
const loginPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Warren inspector: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}
input,button{font:inherit;padding:.4rem;width:100%;box-sizing:border-box;margin:.3rem 0}.err{color:#b00}</style></head>
<body><h1>Warren inspector</h1>
<p id="failed" class="err" hidden>Wrong token.</p>
<form method="post" action="/_warren/login">
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button></form>
<p>The token is the one the app was started with (WARREN_ADMIN_TOKEN or -admin-token-file).</p>
<script src="/_warren/assets/login.js"></script>
</body></html>`

// loginScript shows the failure notice (inline scripts are refused by the page's CSP).
const loginScript = `if (new URLSearchParams(location.search).get("login") === "failed") document.getElementById("failed").hidden = false;`

func (h *handler) handlePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Frame-Options", "DENY")
	if !h.cookieOK(r) {
		w.Write([]byte(loginPage))
		return
	}
	b, err := fs.ReadFile(dist, "dist/index.html")
	if err != nil {
		w.Write([]byte(`<!doctype html><title>Warren inspector</title><p>The inspector's front end is not built into this binary: run <code>npm run build</code> at the repository's root and rebuild. The API at /_warren/api/ works.</p>`))
		return
	}
	w.Write(b)
}

func (h *handler) handleAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "login.js" {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write([]byte(loginScript))
		return
	}
	if name != path.Base(name) || name == ".keep" {
		http.NotFound(w, r)
		return
	}
	b, err := fs.ReadFile(dist, "dist/"+name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		w.Header().Set("Content-Type", t)
	}
	w.Write(b)
}
