package object

import (
	"context"
	"database/sql"
	"strings"
)

// maxUserStmts bounds the prepared statements of user SQL an object keeps: the first
// ones its code runs (an app has a handful); a query built with its values inlined
// fills the cache once and then runs unprepared, as before.
const maxUserStmts = 32

// userStmt is a cached statement of user SQL. wrote and rows are what the authorizer
// saw when it was prepared (the statement may change rows; it writes rows of a table,
// so changes() is its count), which a cached run repeats; busy
// is set while a Rows of it is open, when a second run of the same text must not
// reset it and prepares its own.
type userStmt struct {
	s     *sql.Stmt
	wrote bool
	rows  bool
	busy  bool
}

// userStmt returns the cached statement for query, preparing it on first use, or nil
// when query is not cached: several statements (';'), a pragma (its authorizer
// decision has effects per run), a full cache, or a statement that does not prepare
// (run unprepared, it fails with the same error). It runs inside guarded: user SQL is
// authorized when it is prepared, and again by SQLite whenever it re-prepares the
// statement after a schema change, which happens inside guarded too.
func (st *State) userStmt(query string) *userStmt {
	if strings.IndexByte(query, ';') >= 0 {
		return nil
	}
	st.stmtMu.Lock()
	defer st.stmtMu.Unlock()
	if u, ok := st.ustmts[query]; ok {
		if u.wrote {
			st.guard.wrote = true
		}
		st.guard.rows = u.rows
		return u
	}
	if len(st.ustmts) >= maxUserStmts || st.dead.Load() {
		return nil
	}
	wrote, pragma := st.guard.wrote, st.guard.pragma
	st.guard.wrote, st.guard.pragma = false, false
	s, err := st.conn.PrepareContext(context.Background(), query)
	u := &userStmt{s: s, wrote: st.guard.wrote, rows: st.guard.rows}
	sawPragma := st.guard.pragma
	st.guard.wrote, st.guard.pragma = wrote || st.guard.wrote, pragma || sawPragma
	if err != nil || sawPragma || st.guard.reason != "" {
		if err == nil {
			s.Close()
		}
		st.guard.reason = "" // the unprepared run finds it again
		return nil
	}
	if st.ustmts == nil {
		st.ustmts = map[string]*userStmt{}
	}
	st.ustmts[query] = u
	return u
}
