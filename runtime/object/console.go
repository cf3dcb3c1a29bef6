package object

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"unicode/utf8"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The SQL console runs an operator's query on one object. Read-only (the default) is
// enforced by SQLite: the query runs on its own connection opened with mode=ro and
// query_only, beside the object's (WAL: it reads the last committed state and blocks
// no turn). Both modes obey the rules of the object's own SQL (its authorizer: no
// ATTACH, no transaction control, no _warren_* tables, no pragma that changes a
// setting); KV entries are read with Runtime.KVEntries. A write runs with the object held
// (no turn runs meanwhile), in a transaction of its own; the object's instance is
// rebuilt after it.

// QueryOptions configures Runtime.Query.
type QueryOptions struct {
	Write   bool // allow writes (default: read-only)
	MaxRows int  // rows returned at most: default 1000, at most MaxQueryRows
}

// MaxQueryRows bounds the rows one console query returns.
const MaxQueryRows = 10000

// maxQueryBytes bounds the bytes of values one console query returns.
const maxQueryBytes = 8 << 20

// QueryResult is what a console query returned.
type QueryResult struct {
	Columns     []string `json:"columns"`
	Rows        [][]any  `json:"rows"`
	Truncated   bool     `json:"truncated,omitempty"` // more rows (or bytes) than the bounds
	RowsWritten int64    `json:"rows_written,omitempty"`
}

// Blob is how a console result or an export shows a BLOB value that is not UTF-8.
type Blob struct {
	Base64 string `json:"base64"`
}

// Query runs one SQL statement on an object's database (see the console notes
// above). A read-only query that tries to write fails with SQLite's own error
// ("attempt to write a readonly database"); a refused statement with ErrSQLNotAllowed.
func (rt *Runtime) Query(ctx context.Context, ns string, id ID, query string, opts QueryOptions) (QueryResult, error) {
	c, err := rt.core(ns)
	if err != nil {
		return QueryResult{}, err
	}
	path := rt.dbPath(ns, id)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return QueryResult{}, fmt.Errorf("%w: object %s/%s has no database", ErrNotFound, ns, id)
	}
	max := opts.MaxRows
	if max <= 0 {
		max = 1000
	}
	max = min(max, MaxQueryRows)
	if opts.Write {
		return rt.writeQuery(ctx, c, id, path, query)
	}
	db, err := openReadOnly(path)
	if err != nil {
		return QueryResult{}, fmt.Errorf("object: open %s/%s: %w", ns, id, err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return QueryResult{}, err
	}
	defer conn.Close()
	g := &sqlGuard{user: true}
	if err := registerAuthorizer(conn, g.authorize); err != nil {
		return QueryResult{}, err
	}
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		if g.reason != "" {
			return QueryResult{}, fmt.Errorf("%w: %s", ErrSQLNotAllowed, g.reason)
		}
		if isReadOnly(err) {
			return QueryResult{}, fmt.Errorf("%w: the query is read-only (SQLite: %v); writes need write mode", ErrSQLNotAllowed, err)
		}
		return QueryResult{}, fmt.Errorf("object: sql: %w", err)
	}
	defer rows.Close()
	return collectRows(rows, max)
}

func (rt *Runtime) writeQuery(ctx context.Context, c *nsCore, id ID, path, query string) (QueryResult, error) {
	_, release, err := rt.hold(ctx, c, id)
	if err != nil {
		return QueryResult{}, err
	}
	defer release()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return QueryResult{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return QueryResult{}, err
	}
	defer conn.Close()
	pragmas := []string{"PRAGMA journal_mode=WAL", "PRAGMA synchronous=" + rt.cfg.Synchronous, "PRAGMA foreign_keys=ON", "PRAGMA trusted_schema=OFF"}
	if rt.cfg.Cluster != nil {
		pragmas = append(pragmas, "PRAGMA wal_autocheckpoint=0") // as the object's own connection (ensureOpen)
	}
	for _, q := range pragmas {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return QueryResult{}, err
		}
	}
	oh := rt.openHistory(ctx, c.name, id, path, conn)
	if oh != nil {
		defer oh.Close() // archives the write before conn.Close would checkpoint it
	}
	g := &sqlGuard{}
	if err := registerAuthorizer(conn, g.authorize); err != nil {
		return QueryResult{}, err
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return QueryResult{}, err
	}
	g.user = true
	res, err := conn.ExecContext(ctx, query)
	g.user = false
	if err != nil {
		conn.ExecContext(context.Background(), "ROLLBACK")
		if g.reason != "" {
			return QueryResult{}, fmt.Errorf("%w: %s", ErrSQLNotAllowed, g.reason)
		}
		return QueryResult{}, fmt.Errorf("object: sql: %w", err)
	}
	// The write commits through the Committer, as a batch of the object's turns does
	// (in cluster mode it is shipped like one).
	commit := func() error { _, err := conn.ExecContext(ctx, "COMMIT"); return err }
	seamCtx, cancel := rt.withSeams(ctx)
	defer cancel()
	if err := rt.cfg.Committer.Commit(seamCtx, c.name, id, 1, commit); err != nil {
		conn.ExecContext(context.Background(), "ROLLBACK")
		return QueryResult{}, fmt.Errorf("object: sql: commit: %w", err)
	}
	if oh != nil {
		oh.Committed(rt.cfg.Clock.Now())
	}
	n, _ := res.RowsAffected()
	name, _ := id.Name()
	rt.ops.catalog.touch(wakeKey{c.name, id.raw}, name, rt.cfg.Clock.Now(), -1)
	return QueryResult{Columns: []string{}, Rows: [][]any{}, RowsWritten: n}, nil
}

func registerAuthorizer(conn *sql.Conn, f func(sqlite.AuthorizerActionCode, string, string, string, string) sqlite.AuthorizerReturnCode) error {
	return conn.Raw(func(dc any) error {
		r, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return fmt.Errorf("sqlite driver has no authorizer")
		}
		return r.RegisterAuthorizer(f)
	})
}

// collectRows reads at most max rows (and maxQueryBytes of values).
func collectRows(rows *sql.Rows, max int) (QueryResult, error) {
	cols, err := rows.Columns()
	if err != nil {
		return QueryResult{}, err
	}
	res := QueryResult{Columns: cols, Rows: [][]any{}}
	bytes := 0
	for rows.Next() {
		if len(res.Rows) >= max || bytes > maxQueryBytes {
			res.Truncated = true
			break
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return QueryResult{}, fmt.Errorf("object: sql: %w", err)
		}
		for i, v := range vals {
			vals[i] = jsonValue(v)
			switch x := vals[i].(type) {
			case string:
				bytes += len(x)
			case Blob:
				bytes += len(x.Base64)
			default:
				bytes += 8
			}
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return QueryResult{}, fmt.Errorf("object: sql: %w", err)
	}
	return res, nil
}

// jsonValue turns a SQLite value into one JSON shows faithfully: BLOBs that are
// valid UTF-8 become strings, others Blob.
func jsonValue(v any) any {
	if b, ok := v.([]byte); ok {
		if utf8.Valid(b) {
			return string(b)
		}
		return Blob{Base64: base64.StdEncoding.EncodeToString(b)}
	}
	return v
}

// KVEntry is one key of an object's KV storage, as the inspector shows it.
type KVEntry struct {
	Key   string `json:"key"`
	Value any    `json:"value"` // a string, or Blob when not UTF-8
	Size  int    `json:"size"`
}

// KVPage is a page of KV entries; Next is the key to pass as After for the next page.
type KVPage struct {
	Entries []KVEntry `json:"entries"`
	Next    string    `json:"next,omitempty"`
}

// KVEntries returns at most limit (default 100, at most MaxListLimit) KV entries of an object
// with keys after after and starting with prefix, in key order, read on a read-only
// connection. Values over 64 KiB are cut (Size says how long they are).
func (rt *Runtime) KVEntries(ctx context.Context, ns string, id ID, prefix, after string, limit int) (KVPage, error) {
	path, err := rt.existingDB(ns, id)
	if err != nil {
		return KVPage{}, err
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxListLimit)
	db, err := openReadOnly(path)
	if err != nil {
		return KVPage{}, fmt.Errorf("object: open %s/%s: %w", ns, id, err)
	}
	defer db.Close()
	q, args := `SELECT key, substr(value, 1, 65536), length(value) FROM _warren_kv WHERE key >= ?`, []any{prefix}
	if end, ok := prefixEnd(prefix); ok && prefix != "" {
		q, args = q+` AND key < ?`, append(args, end)
	}
	if after != "" {
		q, args = q+` AND key > ?`, append(args, after)
	}
	rows, err := db.QueryContext(ctx, q+` ORDER BY key LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return KVPage{}, fmt.Errorf("object: kv: %w", err)
	}
	defer rows.Close()
	page := KVPage{Entries: []KVEntry{}}
	for rows.Next() {
		var e KVEntry
		var v []byte
		if err := rows.Scan(&e.Key, &v, &e.Size); err != nil {
			return KVPage{}, fmt.Errorf("object: kv: %w", err)
		}
		if len(page.Entries) == limit {
			page.Next = page.Entries[limit-1].Key
			break
		}
		e.Value = jsonValue(v)
		page.Entries = append(page.Entries, e)
	}
	return page, rows.Err()
}

// isReadOnly reports whether err is SQLite's SQLITE_READONLY (or an extended code of it).
func isReadOnly(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_READONLY
}
