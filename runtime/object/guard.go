package object

import (
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
)

// sqlGuard watches one object's connection so that user SQL can neither escape the
// turn's transaction nor make anything durable outside the runtime's COMMIT.
//
//   - Its authorizer, while user is set (user SQL is being prepared), denies transaction
//     control, ATTACH/DETACH, reserved tables and pragmas outside an allow-list, and
//     remembers why.
//   - Its commit hook refuses every commit but the runtime's own (committing set): a
//     statement that finds itself in autocommit because the transaction ended under it
//     cannot make its writes durable.
//   - Its rollback hook records that SQLite rolled the whole transaction back (txLost):
//     a conflict clause or trigger of an old schema (ON CONFLICT ROLLBACK,
//     RAISE(ROLLBACK)), an interrupt, or an I/O error. The batch is then aborted and
//     every turn in it told ErrRetryable, which is true: nothing of it is stored.
//
// All fields are touched only by the goroutine running the object's turns.
type sqlGuard struct {
	user   bool
	reason string

	committing bool // the runtime is committing the batch
	txLost     bool // SQLite rolled back the transaction since the batch began
	deferFK    bool // user SQL set PRAGMA defer_foreign_keys during the current turn
	pragma     bool // user SQL prepared a pragma (sqlcache.go does not cache it)
	// wrote: a statement that may change rows (user SQL with INSERT, UPDATE or
	// DELETE, a write of the runtime's own) ran since the object's rows written were
	// last counted (takeRowUsage).
	wrote bool
	// rows: the user SQL being prepared inserts, updates or deletes rows of a table
	// (not of SQLite's schema, which a CREATE or DROP writes), so SQLite's changes()
	// is its count (Exec's RowsWritten).
	rows bool
	// dropping: the table a DROP TABLE being prepared drops (SQLite authorizes it as
	// a DELETE of that table too, which writes no rows of changes()).
	dropping string
	// temp: user SQL touched the connection's temp database (a temp table, index,
	// trigger or view), which outlives the object's database (memConns).
	temp bool
	// startChanges is the connection's total_changes() when the object got it.
	startChanges int64
}

// errTxLost marks a turn or batch whose transaction is gone: the batch must be aborted.
var errTxLost = errors.New("transaction lost")

// install registers the guard's authorizer and hooks on a driver connection.
func (g *sqlGuard) install(dc any) error {
	a, ok := dc.(sqlite.AuthorizerRegisterer)
	if !ok {
		return fmt.Errorf("sqlite driver has no authorizer")
	}
	h, ok := dc.(sqlite.HookRegisterer)
	if !ok {
		return fmt.Errorf("sqlite driver has no commit and rollback hooks")
	}
	if err := a.RegisterAuthorizer(g.authorize); err != nil {
		return err
	}
	h.RegisterCommitHook(func() int32 {
		if g.committing {
			return 0
		}
		g.txLost = true
		return 1 // turns the commit into a rollback
	})
	h.RegisterRollbackHook(func() { g.txLost = true })
	return nil
}

// lost returns the error for statements attempted after the transaction was lost.
func (g *sqlGuard) lost() error {
	if !g.txLost {
		return nil
	}
	return fmt.Errorf("%w: the batch's transaction was rolled back by SQLite (an ON CONFLICT ROLLBACK clause or RAISE(ROLLBACK) trigger of the schema, or a storage error); nothing of this turn is stored", ErrRetryable)
}

// deferredFKs reports whether the connection has deferred foreign-key violations
// that are not resolved yet (O(1): SQLite keeps a counter).
func deferredFKs(dc any) (bool, error) {
	s, ok := dc.(sqlite.DBStatus)
	if !ok {
		return false, fmt.Errorf("sqlite driver has no db_status")
	}
	n, _, err := s.Status(sqlite.DBStatusDeferredFKs, false)
	return n != 0, err
}

// errDeferredFK fails a turn that leaves a deferred foreign-key constraint violated: the
// violation is its own, since every earlier turn of the batch ended without one.
var errDeferredFK = errors.New("object: sql: FOREIGN KEY constraint failed (a deferred constraint was still violated at the end of the turn)")

// allowedPragmas lists the pragmas user SQL may run; the value says whether it may
// take an argument (a table name, or a harmless setting).
var allowedPragmas = map[string]bool{
	"table_info": true, "table_xinfo": true, "table_list": true, "index_list": true,
	"index_info": true, "index_xinfo": true, "foreign_key_list": true, "foreign_key_check": true,
	"integrity_check": true, "quick_check": true, "optimize": true, "defer_foreign_keys": true,
	"page_count": false, "page_size": false, "freelist_count": false, "data_version": false,
	"function_list": false, "collation_list": false, "pragma_list": false, "compile_options": false,
}

func (g *sqlGuard) authorize(action sqlite.AuthorizerActionCode, arg1, arg2, dbName, _ string) sqlite.AuthorizerReturnCode {
	if !g.user {
		return sqlite.AuthorizerOK
	}
	if strings.EqualFold(dbName, "temp") {
		g.temp = true
	}
	deny := func(reason string) sqlite.AuthorizerReturnCode {
		if g.reason == "" {
			g.reason = reason
		}
		return sqlite.AuthorizerDeny
	}
	switch action {
	case sqlite.AuthTransaction, sqlite.AuthSavepoint:
		return deny("transactions are managed by the runtime (every turn is one transaction); BEGIN, COMMIT, ROLLBACK and SAVEPOINT are not allowed")
	case sqlite.AuthAttach, sqlite.AuthDetach:
		return deny("ATTACH and DETACH are not allowed")
	case sqlite.AuthPragma:
		g.pragma = true
		name := strings.ToLower(arg1)
		takesArg, ok := allowedPragmas[name]
		if !ok || (arg2 != "" && !takesArg) {
			return deny("PRAGMA " + arg1 + " is not allowed")
		}
		if name == "defer_foreign_keys" && arg2 != "" {
			g.deferFK = true // the runtime switches it off again when the turn ends
		}
	case sqlite.AuthFunction:
		if strings.EqualFold(arg2, "load_extension") {
			return deny("load_extension is not allowed")
		}
	case sqlite.AuthCreateTempTable, sqlite.AuthCreateTempIndex, sqlite.AuthCreateTempTrigger, sqlite.AuthCreateTempView:
		g.temp = true
	case sqlite.AuthDropTable, sqlite.AuthDropTempTable:
		g.dropping = arg1
	case sqlite.AuthInsert, sqlite.AuthUpdate, sqlite.AuthDelete:
		g.wrote = true
		if !isSchemaTable(arg1) && !(action == sqlite.AuthDelete && strings.EqualFold(arg1, g.dropping)) {
			g.rows = true
		}
	}
	if isReserved(arg1) || isReserved(arg2) {
		return deny("tables named " + reservedPrefix + "* are reserved for the runtime")
	}
	return sqlite.AuthorizerOK
}

func isReserved(name string) bool {
	return len(name) >= len(reservedPrefix) && strings.EqualFold(name[:len(reservedPrefix)], reservedPrefix)
}

// isSchemaTable reports whether name is one of SQLite's own tables (sqlite_master,
// sqlite_temp_master, sqlite_sequence, ...).
func isSchemaTable(name string) bool {
	return len(name) >= len("sqlite_") && strings.EqualFold(name[:len("sqlite_")], "sqlite_")
}
