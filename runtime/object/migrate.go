package object

import (
	"context"
	"fmt"
)

// A Migration changes an object's schema from one version to the next; see Migrate.
type Migration func(sql *SQL) error

// Statements is a Migration that runs SQL statements in order.
func Statements(stmts ...string) Migration {
	return func(sql *SQL) error {
		for _, s := range stmts {
			if _, err := sql.Exec(s); err != nil {
				return err
			}
		}
		return nil
	}
}

// Migrate brings the object's schema up to date, in the constructor: steps[i]
// migrates version i to i+1, where the version is the database's user_version (0
// for a new object, and for one made before it used Migrate: write the first step
// so that it accepts an existing schema, with IF NOT EXISTS). The steps not yet
// applied run in order and the version is set to len(steps), in the constructor's
// transaction: either all of them are stored or none is. A version above len(steps)
// fails with ErrSchemaTooNew and changes nothing. Append steps, never edit or
// remove one that has shipped.
func Migrate(st *State, steps ...Migration) error {
	if _, err := st.turnStorage(); err != nil {
		return err
	}
	ctx := context.Background()
	q, err := st.stmt(`PRAGMA user_version`)
	if err != nil {
		return err
	}
	var v int
	if err := q.QueryRowContext(ctx).Scan(&v); err != nil {
		return fmt.Errorf("object: read schema version: %w", err)
	}
	if v > len(steps) {
		return fmt.Errorf("%w: version %d, this build knows %d", ErrSchemaTooNew, v, len(steps))
	}
	for i := v; i < len(steps); i++ {
		if err := steps[i](st.SQL()); err != nil {
			return fmt.Errorf("object: migration %d to %d: %w", i, i+1, err)
		}
	}
	if v == len(steps) {
		return nil
	}
	return st.e.exec(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(steps)))
}
