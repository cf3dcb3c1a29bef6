package object

import (
	"context"
	"fmt"
	"maps"
)

// Transaction runs fn as a sub-transaction of the running turn (Durable Objects'
// transactionSync): if fn returns an error or panics, everything it did through this
// State is rolled back (Storage and SQL writes, alarms and schedules, socket
// attachments and tags, and the outputs it queued: OnCommit callbacks, State.Go work,
// socket sends), and the rest of the turn goes on as if fn had not run. Its error is
// returned; a panic is re-raised after the rollback and fails the turn as usual. If
// fn returns nil its work stays part of the turn, which still commits or rolls back as
// a whole. Transactions nest. The object's in-memory fields are fn's to restore.
func (st *State) Transaction(fn func() error) (err error) {
	if _, err := st.turnStorage(); err != nil {
		return err
	}
	e := st.e
	st.txDepth++
	defer func() { st.txDepth-- }()
	name := fmt.Sprintf("warren_sub_%d", st.txDepth)
	ctx := context.Background() // the rollback must run even when the turn's context is done
	if err := e.exec(ctx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("%w: savepoint: %v", storageError(err), err)
	}
	outMark, rowsMark, undoMark := len(st.outbox), len(st.rows), len(st.undo)
	touched, setTo := maps.Clone(st.alarm.touched), st.alarm.setTo
	committed := false
	defer func() {
		if committed {
			return
		}
		for _, r := range st.rows[rowsMark:] {
			r.Close()
		}
		clear(st.rows[rowsMark:])
		st.rows = st.rows[:rowsMark]
		clear(st.outbox[outMark:])
		st.outbox = st.outbox[:outMark]
		st.undoTo(undoMark)
		st.alarm.touched, st.alarm.setTo = touched, setTo
		st.alarm.dirty = true
		rerr := e.exec(ctx, "ROLLBACK TO "+name)
		if rerr == nil {
			rerr = e.exec(ctx, "RELEASE "+name)
		}
		if rerr != nil {
			// The turn's transaction is in an unknown state: the batch fails (guard.lost).
			st.guard.txLost = true
			if err != nil {
				err = fmt.Errorf("%w: rollback of a sub-transaction: %v (after %v)", ErrRetryable, rerr, err)
			}
		}
	}()
	if err = fn(); err != nil {
		return err
	}
	if err := e.exec(ctx, "RELEASE "+name); err != nil {
		return fmt.Errorf("%w: release: %v", storageError(err), err)
	}
	committed = true
	return nil
}
