package object

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ExportSQLite writes a consistent copy of an object's database (its last committed
// state; see Backup) to w.
func (rt *Runtime) ExportSQLite(ctx context.Context, ns string, id ID, w io.Writer) error {
	src, err := rt.existingDB(ns, id)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "warren-export-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dst := filepath.Join(tmp, "object.sqlite")
	if err := snapshotTo(ctx, src, dst, ns, id); err != nil {
		return fmt.Errorf("object: export %s/%s: %w", ns, id, err)
	}
	f, err := os.Open(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// ExportJSON writes an object's last committed state to w as one JSON document:
//
//	{"namespace": ..., "id": ..., "name": ...,
//	 "kv": [{"key": ..., "value": <string, or {"base64": ...} when not UTF-8>}, ...],
//	 "tables": {"<table>": {"columns": [...], "rows": [[...], ...]}, ...},
//	 "alarms": {"columns": [...], "rows": [...]}}
//
// Every user table is included, whole; rows are streamed, so memory stays bounded.
func (rt *Runtime) ExportJSON(ctx context.Context, ns string, id ID, w io.Writer) error {
	path, err := rt.existingDB(ns, id)
	if err != nil {
		return err
	}
	db, err := openReadOnly(path)
	if err != nil {
		return fmt.Errorf("object: export %s/%s: %w", ns, id, err)
	}
	defer db.Close()
	// One read transaction: the KV entries and every table come from one commit.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var name []byte
	tx.QueryRowContext(ctx, `SELECT value FROM _warren_meta WHERE key = 'name'`).Scan(&name)
	bw := bufio.NewWriter(w)
	head, _ := json.Marshal(map[string]string{"namespace": ns, "id": id.String(), "name": string(name)})
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"kv":[`)
	rows, err := tx.QueryContext(ctx, `SELECT key, value FROM _warren_kv ORDER BY key`)
	if err != nil {
		return err
	}
	for n := 0; rows.Next(); n++ {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return err
		}
		b, _ := json.Marshal(map[string]any{"key": k, "value": jsonValue(v)})
		if n > 0 {
			bw.WriteByte(',')
		}
		bw.Write(b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	bw.WriteString(`],"tables":{`)
	tables, err := userTables(ctx, tx)
	if err != nil {
		return err
	}
	for i, t := range tables {
		if i > 0 {
			bw.WriteByte(',')
		}
		k, _ := json.Marshal(t)
		bw.Write(k)
		bw.WriteByte(':')
		if err := writeTableJSON(ctx, tx, bw, `SELECT * FROM `+quoteIdent(t)); err != nil {
			return err
		}
	}
	bw.WriteString(`},"alarms":`)
	alarms := `SELECT name, spec, payload, due, scheduled, retries FROM _warren_alarms ORDER BY due`
	if !hasAlarmTable(ctx, tx) {
		alarms = noAlarmRows // the same columns
	}
	if err := writeTableJSON(ctx, tx, bw, alarms); err != nil {
		return err
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// noAlarmRows has the columns of _warren_alarms and no row: the alarms of a database
// without the table (alarmSchema).
const noAlarmRows = `SELECT '' AS name, '' AS spec, NULL AS payload, 0 AS due, 0 AS scheduled, 0 AS retries WHERE 0`

// hasAlarmTable reports whether the database q reads has the table of alarms.
func hasAlarmTable(ctx context.Context, q querier) bool {
	rows, err := q.QueryContext(ctx, `SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '_warren_alarms'`)
	if err != nil {
		return true // the query of the table says what is wrong
	}
	defer rows.Close()
	return rows.Next()
}

// existingDB returns an object's database path, or ErrNotFound.
func (rt *Runtime) existingDB(ns string, id ID) (string, error) {
	if _, err := rt.core(ns); err != nil {
		return "", err
	}
	path := rt.dbPath(ns, id)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: object %s/%s has no database", ErrNotFound, ns, id)
	}
	return path, nil
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// userTables lists the object's own tables (not the runtime's, not SQLite's).
func userTables(ctx context.Context, q querier) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT LIKE '\_warren\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func writeTableJSON(ctx context.Context, q querier, bw *bufio.Writer, query string) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	b, _ := json.Marshal(cols)
	bw.WriteString(`{"columns":`)
	bw.Write(b)
	bw.WriteString(`,"rows":[`)
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for n := 0; rows.Next(); n++ {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		out := make([]any, len(vals))
		for i, v := range vals {
			out[i] = jsonValue(v)
		}
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		if n > 0 {
			bw.WriteByte(',')
		}
		bw.Write(b)
	}
	bw.WriteString(`]}`)
	return rows.Err()
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string {
	out := []byte{'"'}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, s[i])
	}
	return string(append(out, '"'))
}
