package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// Client operates a running app through its admin API.
type Client struct {
	BaseURL string // the app's address, e.g. "http://127.0.0.1:8787"
	Token   string
	HTTP    *http.Client // default http.DefaultClient
}

var _ Operator = (*Client)(nil)

// APIError is an error answer of the admin API.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("admin API: %d: %s", e.Status, e.Message) }

func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any, out any, w io.Writer) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	u := strings.TrimRight(c.BaseURL, "/") + Prefix + "api/" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct{ Error string }
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return &APIError{Status: resp.StatusCode, Message: e.Error}
	}
	if w != nil {
		_, err := io.Copy(w, resp.Body)
		return err
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func objectPath(ns, ref string) string {
	return "objects/" + url.PathEscape(ns) + "/" + url.PathEscape(ref)
}

func (c *Client) Namespaces(ctx context.Context) ([]string, error) {
	var out []string
	return out, c.do(ctx, http.MethodGet, "namespaces", nil, nil, &out, nil)
}

func (c *Client) List(ctx context.Context, ns string, opts object.ObjectListOptions) (object.ObjectList, error) {
	q := url.Values{}
	for k, v := range map[string]string{"prefix": opts.Prefix, "sort": opts.Sort, "cursor": opts.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	var out object.ObjectList
	return out, c.do(ctx, http.MethodGet, "objects/"+url.PathEscape(ns), q, nil, &out, nil)
}

func (c *Client) Inspect(ctx context.Context, ns, ref string) (object.ObjectDetails, error) {
	var out object.ObjectDetails
	return out, c.do(ctx, http.MethodGet, objectPath(ns, ref), nil, nil, &out, nil)
}

func (c *Client) Delete(ctx context.Context, ns, ref string) error {
	return c.do(ctx, http.MethodDelete, objectPath(ns, ref), nil, nil, nil, nil)
}

func (c *Client) SQL(ctx context.Context, ns, ref string, req SQLRequest) (object.QueryResult, error) {
	var out object.QueryResult
	return out, c.do(ctx, http.MethodPost, objectPath(ns, ref)+"/sql", nil, req, &out, nil)
}

func (c *Client) Export(ctx context.Context, ns, ref, format string, w io.Writer) error {
	return c.do(ctx, http.MethodGet, objectPath(ns, ref)+"/export", url.Values{"format": {format}}, nil, nil, w)
}

func (c *Client) Backup(ctx context.Context, req BackupRequest) (BackupResponse, error) {
	var out BackupResponse
	return out, c.do(ctx, http.MethodPost, "backup", nil, req, &out, nil)
}

func (c *Client) Restore(ctx context.Context, req BackupRequest) (BackupResponse, error) {
	var out BackupResponse
	return out, c.do(ctx, http.MethodPost, "restore", nil, req, &out, nil)
}

func (c *Client) Bookmark(ctx context.Context, ns, ref string, at time.Time) (BookmarkResponse, error) {
	var q url.Values
	if !at.IsZero() {
		q = url.Values{"at": {at.Format(time.RFC3339Nano)}}
	}
	var out BookmarkResponse
	return out, c.do(ctx, http.MethodGet, objectPath(ns, ref)+"/bookmark", q, nil, &out, nil)
}

func (c *Client) RestoreBookmark(ctx context.Context, ns, ref, bookmark string) (BookmarkResponse, error) {
	var out BookmarkResponse
	return out, c.do(ctx, http.MethodPost, objectPath(ns, ref)+"/restore-bookmark", nil, RestoreBookmarkRequest{Bookmark: bookmark}, &out, nil)
}

// Stats fetches the runtime's counters and top objects.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	var out Stats
	return out, c.do(ctx, http.MethodGet, "stats", nil, nil, &out, nil)
}
