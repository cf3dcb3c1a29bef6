package server

import (
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// guard runs the checks every request passes before it is routed, in this order:
//
//   - Routing: a request a peer node proxied here is recognized (acceptRoute); it
//     skips the Host and cross-site checks, which its entry node made.
//   - Host: a name the server does not answer to gets 403 (DNS rebinding; see
//     hostPolicy.hostOK). /healthz is exempt, for load balancers' own Host names.
//   - Cross-site: a state-changing method from a browser page of another origin gets
//     403 (CSRF; see hostPolicy.crossSiteError). Non-browser clients pass.
//   - Body budget: a body's bytes are reserved before they are read; over the
//     per-address budget 429, over the process-wide one 503 (see bodyBudget). While
//     it arrives, Shutdown can cut it (see arrivingBodies).
//   - Response write: a response must be written within Config.WriteTimeout of its
//     first byte, so that a client that does not read cannot hold it forever.
func (s *Server) guard(w http.ResponseWriter, r *http.Request, next http.Handler) {
	r = s.acceptRoute(r)
	routed := routedFrom(r) != "" // the entry node checked Host and origin
	if !routed && r.URL.Path != "/healthz" && !s.hosts.hostOK(r.Host) {
		s.refusedRequests.Add(1)
		http.Error(w, "host "+r.Host+" not allowed: add its name with -allowed-hosts (WARREN_ALLOWED_HOSTS)", http.StatusForbidden)
		return
	}
	if err := s.hosts.crossSiteError(r); err != nil && !routed {
		s.refusedRequests.Add(1)
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	rc := http.NewResponseController(w)
	if r.Body != nil && r.Body != http.NoBody {
		body, err := s.bodies.reserveBody(r)
		if err != nil {
			s.refusedRequests.Add(1)
			code, msg := bodyErrorStatus(err)
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Connection", "close")
			http.Error(w, msg, code)
			return
		}
		s.arriving.add(body, rc, time.Now().Add(s.cfg.ReadTimeout))
		defer body.release()
	}
	// A deadline left by the previous response on this connection must not cut the
	// writes net/http makes for this one (100 Continue).
	rc.SetWriteDeadline(time.Time{}) //nolint:errcheck // not supported by recorders
	if websocket.IsWebSocketUpgrade(r) {
		next.ServeHTTP(w, r) // the socket sets a deadline per frame
		return
	}
	dw := &deadlineWriter{ResponseWriter: w, rc: rc, timeout: s.cfg.WriteTimeout}
	defer dw.start() // for what net/http still writes after the handler
	next.ServeHTTP(dw, r)
}

// deadlineWriter sets the connection's write deadline at the response's first byte.
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	started bool
}

func (w *deadlineWriter) start() {
	if !w.started {
		w.started = true
		w.rc.SetWriteDeadline(time.Now().Add(w.timeout)) //nolint:errcheck // not supported by recorders
	}
}

func (w *deadlineWriter) WriteHeader(code int) {
	w.start()
	w.ResponseWriter.WriteHeader(code)
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.start()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (Flush, deadlines).
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
