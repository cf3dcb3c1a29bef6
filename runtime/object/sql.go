package object

import (
	"database/sql"
	"fmt"
)

// SQL is an object's SQLite database, for queries with ? parameters. Statements run
// inside the current turn's transaction, so they commit with it or not at all. Refused
// with ErrSQLNotAllowed: BEGIN, COMMIT, ROLLBACK, SAVEPOINT, ATTACH, pragmas outside a
// read-only allow-list, the runtime's reserved tables (_warren_*), and the ROLLBACK
// conflict resolution (OR ROLLBACK, ON CONFLICT ROLLBACK, RAISE(ROLLBACK)), which would
// end the transaction of every turn in the batch. A deferred foreign-key violation
// fails the turn that leaves it. A query may hold several statements separated by ';'.
type SQL State

// Result describes what Exec did.
type Result struct {
	RowsWritten  int64 // rows inserted, updated or deleted by the query's last INSERT, UPDATE or DELETE (0 when it has none)
	LastInsertID int64
}

func (q *SQL) st() (*State, error) { return (*State)(q).turnStorage() }

// errRollbackKeyword explains why SQL naming ROLLBACK is refused (sqlscan.go).
const errRollbackKeyword = "ROLLBACK would end the turn's transaction, which the runtime manages: OR ROLLBACK, ON CONFLICT ROLLBACK and RAISE(ROLLBACK) are not allowed (use ABORT or FAIL, or fail the turn); quote an identifier named rollback"

// guarded runs query through f with the authorizer in user mode and explains a
// denial. A query that could end the turn's transaction is refused before it runs.
func (st *State) guarded(query string, f func() error) error {
	if rollbackKeyword(query) {
		return fmt.Errorf("%w: %s", ErrSQLNotAllowed, errRollbackKeyword)
	}
	st.guard.user, st.guard.reason, st.guard.rows, st.guard.dropping = true, "", false, ""
	err := f()
	st.guard.user = false
	if err != nil && st.guard.reason != "" {
		return fmt.Errorf("%w: %s", ErrSQLNotAllowed, st.guard.reason)
	}
	return err
}

// Exec runs a statement that returns no rows.
func (q *SQL) Exec(query string, args ...any) (Result, error) {
	st, err := q.st()
	if err != nil {
		return Result{}, err
	}
	var r sql.Result
	err = st.guarded(query, func() (err error) {
		if u := st.userStmt(query); u != nil && !u.busy {
			r, err = u.s.ExecContext(st.ctx, args...)
			return err
		}
		r, err = st.conn.ExecContext(st.ctx, query, args...)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("object: sql: %w", err)
	}
	var res Result
	if st.guard.rows { // else changes() is still the count of an earlier statement
		res.RowsWritten, _ = r.RowsAffected()
	}
	res.LastInsertID, _ = r.LastInsertId()
	return res, nil
}

// Query runs a statement that returns rows. Rows left open are closed when the turn ends.
func (q *SQL) Query(query string, args ...any) (*Rows, error) {
	st, err := q.st()
	if err != nil {
		return nil, err
	}
	var r *sql.Rows
	var owner *userStmt
	err = st.guarded(query, func() (err error) {
		if u := st.userStmt(query); u != nil && !u.busy {
			if r, err = u.s.QueryContext(st.ctx, args...); err == nil {
				owner, u.busy = u, true
			}
			return err
		}
		r, err = st.conn.QueryContext(st.ctx, query, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("object: sql: %w", err)
	}
	rows := &Rows{rows: r, owner: owner}
	st.rows = append(st.rows, rows)
	return rows, nil
}

// QueryRow runs a query expected to return at most one row; errors are deferred to Scan.
func (q *SQL) QueryRow(query string, args ...any) *Row {
	rows, err := q.Query(query, args...)
	return &Row{rows: rows, err: err}
}

// DatabaseSize returns the size of the object's database in bytes.
func (q *SQL) DatabaseSize() (int64, error) {
	st, err := q.st()
	if err != nil {
		return 0, err
	}
	var n int64
	err = st.conn.QueryRowContext(st.ctx, `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&n)
	return n, err
}

// Rows is the result of Query. It is like database/sql.Rows and also counts the rows read.
type Rows struct {
	rows  *sql.Rows
	read  int64
	owner *userStmt // the cached statement it runs, free again once closed
}

// Next advances to the next row; it returns false at the end or on error (see Err).
func (r *Rows) Next() bool {
	ok := r.rows.Next()
	if ok {
		r.read++
	}
	return ok
}

// Scan copies the current row's columns into dest, as database/sql does.
func (r *Rows) Scan(dest ...any) error { return r.rows.Scan(dest...) }

// Columns returns the column names.
func (r *Rows) Columns() ([]string, error) { return r.rows.Columns() }

// Err returns the error that ended iteration, if any.
func (r *Rows) Err() error { return r.rows.Err() }

// Close releases the rows; it is safe to call more than once.
func (r *Rows) Close() error {
	err := r.rows.Close()
	if r.owner != nil {
		r.owner.busy, r.owner = false, nil
	}
	return err
}

// RowsRead returns how many rows have been read so far.
func (r *Rows) RowsRead() int64 { return r.read }

// Row is the result of QueryRow.
type Row struct {
	rows *Rows
	err  error
}

// Scan copies the first row into dest and returns sql.ErrNoRows when there is none.
func (r *Row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	return r.rows.Scan(dest...)
}
