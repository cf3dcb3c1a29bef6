package object

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Storage is an object's transactional key-value store, kept in a reserved table of
// its SQLite database. Keys are strings ordered by their bytes (UTF-8 order); values
// are bytes. Every write joins the current turn's transaction: it is durable when the
// turn's outputs are released, and undone if the turn fails.
type Storage State

// Limits of the key-value API.
const (
	MaxKeySize   = 2048    // bytes in a key
	MaxValueSize = 2 << 20 // bytes in a value
)

// Entry is one key-value pair.
type Entry struct {
	Key   string
	Value []byte
}

// ListOptions selects a key range. Keys are compared as bytes.
type ListOptions struct {
	Start      string // first key, inclusive
	StartAfter string // first key, exclusive; cannot be combined with Start
	End        string // last key, exclusive
	Prefix     string // only keys with this prefix
	Reverse    bool   // descending order; does not change the meaning of Start and End
	Limit      int    // at most this many entries (0: no limit)
}

func (s *Storage) st() (*State, error) { return (*State)(s).turnStorage() }

// exec runs one of the runtime's statements in the current turn.
func (s *Storage) exec(q string, args ...any) (sql.Result, error) {
	if _, err := s.st(); err != nil {
		return nil, err
	}
	return s.execAny(q, args...)
}

func checkKey(key string) error {
	if len(key) > MaxKeySize {
		return fmt.Errorf("%w: key of %d bytes (max %d)", ErrTooLarge, len(key), MaxKeySize)
	}
	return nil
}

// Get returns the value of key and whether it exists.
func (s *Storage) Get(key string) ([]byte, bool, error) {
	st, err := s.st()
	if err != nil {
		return nil, false, err
	}
	stmt, err := st.stmt(`SELECT value FROM _warren_kv WHERE key = ?`)
	if err != nil {
		return nil, false, err
	}
	var v []byte
	err = stmt.QueryRowContext(context.Background(), key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("object: get: %w", err)
	}
	if v == nil {
		v = []byte{}
	}
	st.usage.read++
	return v, true, nil
}

// GetMany returns the values of the keys that exist.
func (s *Storage) GetMany(keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		v, ok, err := s.Get(k)
		if err != nil {
			return nil, err
		}
		if ok {
			out[k] = v
		}
	}
	return out, nil
}

// Put sets key to value.
func (s *Storage) Put(key string, value []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return fmt.Errorf("%w: value of %d bytes (max %d)", ErrTooLarge, len(value), MaxValueSize)
	}
	if value == nil {
		value = []byte{}
	}
	if _, err := s.exec(`INSERT INTO _warren_kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("object: put: %w", err)
	}
	return nil
}

// PutMany sets every entry, atomically with the rest of the turn.
func (s *Storage) PutMany(entries map[string][]byte) error {
	for k, v := range entries {
		if err := s.Put(k, v); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes key and reports whether it existed.
func (s *Storage) Delete(key string) (bool, error) {
	r, err := s.exec(`DELETE FROM _warren_kv WHERE key = ?`, key)
	if err != nil {
		return false, fmt.Errorf("object: delete: %w", err)
	}
	n, _ := r.RowsAffected()
	return n > 0, nil
}

// DeleteMany removes keys and returns how many existed.
func (s *Storage) DeleteMany(keys []string) (int, error) {
	n := 0
	for _, k := range keys {
		ok, err := s.Delete(k)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// List returns the entries in the range opts selects, in key order (descending with Reverse).
func (s *Storage) List(opts ListOptions) ([]Entry, error) {
	st, err := s.st()
	if err != nil {
		return nil, err
	}
	if opts.Start != "" && opts.StartAfter != "" {
		return nil, fmt.Errorf("object: list: Start and StartAfter cannot be combined")
	}
	if opts.Limit < 0 {
		return nil, fmt.Errorf("object: list: negative Limit")
	}
	var where []string
	var args []any
	if opts.Start != "" {
		where, args = append(where, "key >= ?"), append(args, opts.Start)
	}
	if opts.StartAfter != "" {
		where, args = append(where, "key > ?"), append(args, opts.StartAfter)
	}
	if opts.End != "" {
		where, args = append(where, "key < ?"), append(args, opts.End)
	}
	if opts.Prefix != "" {
		where, args = append(where, "key >= ?"), append(args, opts.Prefix)
		if end, ok := prefixEnd(opts.Prefix); ok {
			where, args = append(where, "key < ?"), append(args, end)
		}
	}
	q := "SELECT key, value FROM _warren_kv"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if opts.Reverse {
		q += " ORDER BY key DESC"
	} else {
		q += " ORDER BY key ASC"
	}
	limit := -1
	if opts.Limit > 0 {
		limit = opts.Limit
	}
	q += " LIMIT ?"
	args = append(args, limit)
	stmt, err := st.stmt(q)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(context.Background(), args...)
	if err != nil {
		return nil, fmt.Errorf("object: list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.Key, &e.Value); err != nil {
			return nil, fmt.Errorf("object: list: %w", err)
		}
		if e.Value == nil {
			e.Value = []byte{}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("object: list: %w", err)
	}
	st.usage.read += int64(len(out))
	return out, nil
}

// prefixEnd returns the smallest string greater than every string with prefix p.
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// DeleteAll deletes every key, every user table, view, index and trigger, and every
// alarm and schedule, atomically with the rest of the turn.
func (s *Storage) DeleteAll() error {
	st, err := s.st()
	if err != nil {
		return err
	}
	ctx := context.Background()
	rows, err := st.conn.QueryContext(ctx, `SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\' AND type IN ('table', 'view', 'trigger')`)
	if err != nil {
		return fmt.Errorf("object: delete all: %w", err)
	}
	var drops []string
	for rows.Next() {
		var typ, name string
		if err := rows.Scan(&typ, &name); err != nil {
			rows.Close()
			return fmt.Errorf("object: delete all: %w", err)
		}
		if isReserved(name) {
			continue
		}
		drops = append(drops, fmt.Sprintf(`DROP %s IF EXISTS "%s"`, strings.ToUpper(typ), strings.ReplaceAll(name, `"`, `""`)))
	}
	rows.Close()
	st.guard.wrote = true
	for _, q := range append(drops, deleteAllReserved...) {
		if _, err := orNoAlarms(st.conn.ExecContext(ctx, q)); err != nil {
			return fmt.Errorf("object: delete all: %s: %w", q, err)
		}
	}
	st.alarmsUnknown()
	return nil
}

// deleteAllReserved empties the runtime's own tables that DeleteAll clears.
var deleteAllReserved = []string{`DELETE FROM _warren_kv`, `DELETE FROM _warren_alarms`}

// GetJSON reads key and decodes its JSON value into a T.
func GetJSON[T any](s *Storage, key string) (T, bool, error) {
	var v T
	b, ok, err := s.Get(key)
	if err != nil || !ok {
		return v, ok, err
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, true, fmt.Errorf("object: get %q: %w", key, err)
	}
	return v, true, nil
}

// PutJSON stores v, JSON-encoded, at key.
func PutJSON(s *Storage, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("object: put %q: %w", key, err)
	}
	return s.Put(key, b)
}
