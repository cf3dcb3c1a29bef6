package cluster

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	_ "modernc.org/sqlite" // the driver the runtime uses
)

// The two things this package asks of SQLite itself, each on a short-lived connection
// of its own: the object's runtime connection stays as it is.

// openSide opens a second connection to the database at path.
func openSide(ctx context.Context, path string) (*sql.DB, *sql.Conn, error) {
	if strings.ContainsRune(path, '?') {
		return nil, nil, fmt.Errorf("cluster: database path must not contain '?'")
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return nil, nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, conn, nil
}

// checkpointTruncate copies every committed frame of the log into the database file
// and truncates the log to zero bytes. It reports false, changing nothing it cannot
// finish, when a reader or writer is busy on the database.
func checkpointTruncate(ctx context.Context, path string) (bool, error) {
	db, conn, err := openSide(ctx, path)
	if err != nil {
		return false, err
	}
	defer db.Close()
	defer conn.Close()
	var busy, logFrames, done int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
		return false, err
	}
	return busy == 0, nil
}

// integrityCheck runs PRAGMA integrity_check on the database at path and returns an
// error with SQLite's findings unless it answers "ok".
func integrityCheck(ctx context.Context, path string) error {
	db, conn, err := openSide(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer rows.Close()
	var findings []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		findings = append(findings, s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if len(findings) != 1 || findings[0] != "ok" {
		return fmt.Errorf("%w: integrity_check: %s", ErrCorrupt, strings.Join(findings, "; "))
	}
	return nil
}
