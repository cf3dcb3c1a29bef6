package main

import (
	"encoding/json"
	"mime"
	"net/http"
	"strings"
)

// maxJSONBody bounds the JSON bodies of the app's own endpoints.
const maxJSONBody = 4096

// allowMethods reports whether r's method is one of methods; otherwise it answers
// 405 with an Allow header. Only the documented methods reach a handler.
func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method "+r.Method+" not allowed: "+strings.Join(methods, " or "), http.StatusMethodNotAllowed)
	return false
}

// decodeJSONBody decodes r's body, which must be declared application/json, into
// v, or answers 415 or 400. A page of another origin cannot send that content
// type without a CORS preflight, which the server never grants, so a cross-site
// form or text/plain fetch cannot change anything.
func decodeJSONBody(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		http.Error(w, "Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return false
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody)).Decode(v); err != nil {
		http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}
