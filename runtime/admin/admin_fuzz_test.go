package admin_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/warrenhq/warren/runtime/admin"
	"github.com/warrenhq/warren/runtime/object"
)

type box struct{ st *object.State }

// FuzzAdminAPI sends arbitrary methods, paths (with queries) and bodies with the
// right token: the API always answers (never panics), with a JSON error for what it
// refuses, and never answers 500 for a malformed request.
func FuzzAdminAPI(f *testing.F) {
	rt, err := object.New(object.Config{DataDir: f.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { rt.Close() })
	ns, err := object.Register(rt, "box", func(ctx context.Context, st *object.State) (*box, error) { return &box{st}, nil })
	if err != nil {
		f.Fatal(err)
	}
	if err := ns.RunLocal(context.Background(), ns.GetByName("a"), func(ctx context.Context, b *box) error {
		_, err := b.st.SQL().Exec(`CREATE TABLE t (x)`)
		return err
	}); err != nil {
		f.Fatal(err)
	}
	token := "fuzz-token-0123456789abcdef"
	h, err := admin.New(rt, admin.Config{Token: token, BackupDir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("GET", "/_warren/api/objects/box?sort=size&cursor=size.1.zz&limit=3", "")
	f.Add("POST", "/_warren/api/objects/box/a/sql", `{"query":"SELECT * FROM t","max_rows":-1}`)
	f.Add("POST", "/_warren/api/backup", `{"name":"..","namespace":"box"}`)
	f.Add("POST", "/_warren/api/restore", `{"name":"x","object":"a"}`)
	f.Add("GET", "/_warren/api/objects/box/a/kv?limit=-5&after=%ff", "")
	f.Add("GET", "/_warren/api/objects/box/%00/export?format=xml", "")
	f.Add("POST", "/_warren/api/objects/box/a/sql", `{"query":"SELEC nonsense"}`)
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t#") || len(method) == 0 || strings.ContainsAny(method, " \r\n\t()<>@,;:\\\"/[]?={}") {
			return
		}
		req, err := http.NewRequest(method, "http://127.0.0.1"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		req.RemoteAddr = "127.0.0.1:1"
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s %q: %d %s", method, target, body, rec.Code, rec.Body.String())
		}
	})
}

// FuzzSessionCookie sends arbitrary session cookies without the token: none is
// accepted (the expiry and its signature cannot be forged) and none panics the parser.
func FuzzSessionCookie(f *testing.F) {
	rt, err := object.New(object.Config{DataDir: f.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { rt.Close() })
	h, err := admin.New(rt, admin.Config{Token: "fuzz-token-0123456789abcdef", BackupDir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"", ".", "1.", "-1.00", "99999999999999999999.ab", "4102444800." + strings.Repeat("0", 64), "4102444800.4102444800.x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		req := httptest.NewRequest("GET", "http://127.0.0.1/_warren/api/namespaces", nil)
		req.RemoteAddr = "127.0.0.1:1"
		req.AddCookie(&http.Cookie{Name: "warren_admin", Value: value})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("cookie %q: %d %s, want 401", value, rec.Code, rec.Body.String())
		}
	})
}
