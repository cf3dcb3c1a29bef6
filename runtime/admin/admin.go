// Package admin is Warren's admin API and inspector page, served by every app binary
// at /_warren/ when an admin token is configured (runtime/server mounts it), and the
// client the warren CLI uses to reach it.
//
// Access: off without a token. A request must come from a loopback address unless
// Config.AllowRemote, and carry the token as "Authorization: Bearer <token>" or the
// session cookie that the page's login form sets (HttpOnly, SameSite=Strict, path
// /_warren/; its value is its expiry and an HMAC of it keyed by the token, not the
// token, and the server refuses it after sessionTTL). Tokens are compared
// as SHA-256 digests in constant time. A token in the URL query is refused, so it
// never lands in logs or history. A request authenticated by the cookie that changes
// state (anything but GET and HEAD) must also carry "X-Warren-Admin: 1", which no
// cross-site page can send without a CORS preflight that this API never grants, and
// an Origin, when present, must be the server's own. The host's own checks (Host,
// cross-site requests) run first.
//
// API (JSON; errors are {"error": "..."}):
//
//	GET    /_warren/api/namespaces
//	GET    /_warren/api/objects/{ns}?prefix=&sort=name|size|activity&limit=&cursor=
//	GET    /_warren/api/objects/{ns}/{ref}               details ({ref}: name or ID)
//	DELETE /_warren/api/objects/{ns}/{ref}
//	GET    /_warren/api/objects/{ns}/{ref}/kv?prefix=&after=&limit=
//	POST   /_warren/api/objects/{ns}/{ref}/sql           {"query", "write", "max_rows"}
//	GET    /_warren/api/objects/{ns}/{ref}/export?format=json|sqlite
//	GET    /_warren/api/objects/{ns}/{ref}/bookmark?at=  {"bookmark", "history_bytes"}: for a time
//	                                                     (RFC 3339), or the current one without at
//	POST   /_warren/api/objects/{ns}/{ref}/restore-bookmark  {"bookmark"}: answers {"bookmark", "undo"}
//	POST   /_warren/api/backup                           {"name", "namespace", "object"}
//	POST   /_warren/api/restore                          {"name", "namespace", "object"}
//	GET    /_warren/api/stats                            runtime counters and top objects
//
// Bookmarks need the app's history (object.Config.History, the binary's -history
// flag); without it they answer 400. A restore to a bookmark closes the object's
// sockets with 4409 and answers the bookmark that undoes it.
//
// Backups are folders under Config.BackupDir, named by the request (letters, digits,
// '.', '_', '-'): the API never reads or writes a path a client chooses.
package admin

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// Config configures the admin handler.
type Config struct {
	// Token is the admin token, at least MinTokenLen bytes. Required.
	Token string
	// AllowRemote serves clients that are not on a loopback address. Default off.
	AllowRemote bool
	// BackupDir holds the backups the API writes and restores. Default: the data
	// directory's path with "-backups" appended.
	BackupDir string
}

// MinTokenLen is the shortest admin token accepted.
const MinTokenLen = 16

// Prefix is where the handler is mounted.
const Prefix = "/_warren/"

// cookieName is the inspector's session cookie.
const cookieName = "warren_admin"

// sessionTTL is how long a login lasts: the cookie's lifetime, and when the server
// stops accepting it (a copied cookie does not work forever).
const sessionTTL = 12 * time.Hour

// handler serves the admin API and the inspector.
type handler struct {
	rt  *object.Runtime
	cfg Config
	mux *http.ServeMux
}

// New returns the admin handler for rt, to be mounted at Prefix.
func New(rt *object.Runtime, cfg Config) (http.Handler, error) {
	if len(cfg.Token) < MinTokenLen {
		return nil, fmt.Errorf("admin: the token must have at least %d bytes", MinTokenLen)
	}
	if cfg.BackupDir == "" {
		cfg.BackupDir = strings.TrimRight(rt.Config().DataDir, "/") + "-backups"
	}
	h := &handler{rt: rt, cfg: cfg, mux: http.NewServeMux()}
	h.routes()
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
	if !h.cfg.AllowRemote && !loopback(r.RemoteAddr) {
		writeError(w, http.StatusForbidden, "the admin API serves loopback clients only (start the app with -admin-remote to allow others)")
		return
	}
	if _, ok := r.URL.Query()["token"]; ok {
		writeError(w, http.StatusBadRequest, "the admin token goes in the Authorization header (or the login form), never in a URL")
		return
	}
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r) {
		writeError(w, http.StatusForbidden, "cross-origin request to the admin API refused")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// authed wraps an API route: it requires the token (header or cookie) and, for a
// cookie-authenticated state change, the X-Warren-Admin header.
func (h *handler) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case bearerOK(r.Header.Get("Authorization"), h.cfg.Token):
		case h.cookieOK(r):
			if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Header.Get("X-Warren-Admin") != "1" {
				writeError(w, http.StatusForbidden, "a state change with the session cookie needs the header X-Warren-Admin: 1")
				return
			}
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="warren admin"`)
			writeError(w, http.StatusUnauthorized, "admin token required")
			return
		}
		next(w, r)
	}
}

// sessionValue is the session cookie's value for a login that expires at expiry
// (Unix seconds): "<expiry>.<HMAC-SHA256 of it keyed by the token, hex>".
func (h *handler) sessionValue(expiry int64) string {
	m := hmac.New(sha256.New, []byte(h.cfg.Token))
	fmt.Fprintf(m, "warren admin session v2 %d", expiry)
	return strconv.FormatInt(expiry, 10) + "." + hex.EncodeToString(m.Sum(nil))
}

// cookieOK reports whether the request carries a session cookie that this token
// signed and that has not expired (by the runtime's clock).
func (h *handler) cookieOK(r *http.Request) bool {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return false
	}
	exp, _, ok := strings.Cut(c.Value, ".")
	expiry, err := strconv.ParseInt(exp, 10, 64)
	if !ok || err != nil || h.rt.Config().Clock.Now().Unix() >= expiry {
		return false
	}
	return equalDigest(c.Value, h.sessionValue(expiry))
}

// handleLogin checks the form's token and sets the session cookie.
func (h *handler) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "bad login form")
		return
	}
	if !equalDigest(r.PostForm.Get("token"), h.cfg.Token) {
		time.Sleep(200 * time.Millisecond) // slows guessing; the token is long anyway
		http.Redirect(w, r, Prefix+"?login=failed", http.StatusSeeOther)
		return
	}
	expiry := h.rt.Config().Clock.Now().Add(sessionTTL).Unix()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: h.sessionValue(expiry), Path: Prefix, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(sessionTTL.Seconds())})
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

func (h *handler) handleLogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

// bearerOK reports whether an Authorization header value is "Bearer <token>".
func bearerOK(header, token string) bool {
	const prefix = "Bearer "
	if len(header) < len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return false
	}
	return equalDigest(header[len(prefix):], token)
}

// equalDigest compares SHA-256 digests in constant time, so that neither the bytes
// nor the length of the secret leak through timing.
func equalDigest(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

func loopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameOrigin reports whether an Origin header names the server the request reached.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}
