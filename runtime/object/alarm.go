package object

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"
)

// AlarmHandler is implemented by objects that use State.SetAlarm. Alarm runs as a
// turn of the object when the alarm is due (activating the object if needed). If it
// returns an error or panics, the turn is rolled back and the alarm is retried.
type AlarmHandler interface {
	Alarm(ctx context.Context, info AlarmInfo) error
}

// AlarmInfo describes one delivery of the single alarm.
type AlarmInfo struct {
	RetryCount    int       // 0 on the first attempt
	IsRetry       bool      // RetryCount > 0
	ScheduledTime time.Time // the time the alarm was set to
}

// ScheduleHandler is implemented by objects that use State.Schedule. OnSchedule runs
// as a turn of the object when a schedule is due, with the same retry rules as Alarm.
type ScheduleHandler interface {
	OnSchedule(ctx context.Context, f Firing) error
}

// Firing describes one delivery of a named schedule.
type Firing struct {
	Name          string
	Payload       []byte
	RetryCount    int       // 0 on the first attempt
	ScheduledTime time.Time // the occurrence being delivered
}

// ScheduleInfo is one named schedule, as State.Schedules lists it.
type ScheduleInfo struct {
	Name       string
	Spec       Spec // After(d) is listed as At(the time it resolved to)
	Payload    []byte
	Next       time.Time // when it fires next (a retry time while retrying)
	RetryCount int       // failed attempts of the pending occurrence
}

// alarmState is the alarm bookkeeping of one open object (a field of State).
type alarmState struct {
	dirty bool // _warren_alarms written since the last commit
	next  time.Time
	has   bool

	// So that a batch whose only alarm writes are SetAlarm and DeleteAlarm (the common
	// case: an alarm pushed on every turn) needs no query for its earliest due time:
	// exact says rest holds the earliest due time of the rows other than the single
	// alarm's (restHas false: none) as of the last commit, and the batch wrote no such
	// row; single says the batch set (singleHas) or deleted the single alarm, due at
	// singleDue. A failed turn undoes its SetAlarm or DeleteAlarm (State.onUndo).
	exact     bool
	rest      time.Time
	restHas   bool
	single    bool
	singleDue time.Time
	singleHas bool

	// while a handler runs:
	firing  bool
	touched map[string]bool // names the handler set or deleted itself
	setTo   *time.Time      // the last SetAlarm of the handler, if its last alarm call was one
}

func (st *State) alarmWrite(name string) {
	st.alarm.dirty = true
	if name != "" {
		st.alarm.exact = false
	}
	if st.alarm.firing {
		if st.alarm.touched == nil {
			st.alarm.touched = map[string]bool{}
		}
		st.alarm.touched[name] = true
	}
}

func unixNano(t time.Time) int64 {
	if t.Year() < 1970 {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time { return time.Unix(0, n).UTC() }

// alarmSchema is the table of alarms and schedules (the empty name is the single
// alarm; times are Unix ns) and its index. The first write of an alarm or schedule
// creates them (upsertAlarmRow), in its own transaction, not the object's file: most
// objects never set one, and they were two of a new file's five pages. A database
// without the table has no alarms, and every reader says so (noAlarmTable); files
// made before have it.
//
// Nothing in memory says whether the table exists: the batch that created it may roll
// back (a failed handler or commit, a transaction SQLite ended, an abort), undoing the
// CREATE, and only SQLite's schema knows. On a database with the table the statements
// run as before; without it a read fails to prepare and reads as empty.
var alarmSchema = []string{
	`CREATE TABLE IF NOT EXISTS _warren_alarms (name TEXT PRIMARY KEY, spec TEXT NOT NULL, payload BLOB, due INTEGER NOT NULL, scheduled INTEGER NOT NULL, retries INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS _warren_alarms_due ON _warren_alarms (due)`,
}

// noAlarmTable reports whether err is SQLite's for a statement on _warren_alarms in a
// database without that table: it has no alarms.
func noAlarmTable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such table: _warren_alarms")
}

// orNoAlarms maps the error of a DELETE or UPDATE of _warren_alarms on a database
// without the table to a change of no row.
func orNoAlarms(r sql.Result, err error) (sql.Result, error) {
	if noAlarmTable(err) {
		return driver.RowsAffected(0), nil
	}
	return r, err
}

// upsertAlarmRow sets the alarm or schedule row name (due and scheduled at due, no
// retries), creating the table first in a database without it (alarmSchema).
func (s *Storage) upsertAlarmRow(name, spec string, payload []byte, due int64) error {
	_, err := s.execAny(upsertAlarm, name, spec, payload, due, due)
	if !noAlarmTable(err) {
		return err
	}
	for _, q := range alarmSchema {
		if _, err := s.conn.ExecContext(context.Background(), q); err != nil {
			return err
		}
	}
	_, err = s.execAny(upsertAlarm, name, spec, payload, due, due)
	return err
}

const upsertAlarm = `INSERT INTO _warren_alarms (name, spec, payload, due, scheduled, retries) VALUES (?, ?, ?, ?, ?, 0)
ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, payload = excluded.payload, due = excluded.due, scheduled = excluded.scheduled, retries = 0`

// SetAlarm sets the object's single alarm to t, replacing any previous one. A time
// not in the future fires as soon as possible. Like every write it joins the turn's
// transaction: a failed turn leaves the previous alarm in place.
func (st *State) SetAlarm(t time.Time) error {
	if st.e.ns.noAlarms {
		return fmt.Errorf("%w: %s objects have no Alarm handler", ErrNoHandler, st.e.ns.name)
	}
	if t.After(MaxScheduleTime) {
		return fmt.Errorf("%w: alarm time %v is after %v", ErrBadSpec, t, MaxScheduleTime)
	}
	s := (*Storage)(st)
	if _, err := s.st(); err != nil {
		return fmt.Errorf("object: set alarm: %w", err)
	}
	if err := s.upsertAlarmRow("", "", nil, unixNano(t)); err != nil {
		return fmt.Errorf("object: set alarm: %w", err)
	}
	st.alarmWrite("")
	st.singleAlarmWritten(t, true)
	if st.alarm.firing {
		tt := t
		st.alarm.setTo = &tt
	}
	return nil
}

// singleAlarmWritten records, for alarmsBeforeCommit, that the turn set the single
// alarm to due (has) or deleted it; a failed turn undoes the record with its write.
func (st *State) singleAlarmWritten(due time.Time, has bool) {
	a := &st.alarm
	prev, prevDue, prevHas := a.single, a.singleDue, a.singleHas
	st.onUndo(func() { a.single, a.singleDue, a.singleHas = prev, prevDue, prevHas })
	a.single, a.singleDue, a.singleHas = true, due, has
}

// alarmsUnknown notes a write of _warren_alarms other than SetAlarm and DeleteAlarm
// (a wake turn's, DeleteAll's): the next commit reads the earliest due time again.
func (st *State) alarmsUnknown() {
	st.alarm.dirty = true
	st.alarm.exact = false
}

// GetAlarm returns the time the alarm is set to and whether one is set. While a
// failed alarm waits for its retry, GetAlarm returns its original scheduled time.
func (st *State) GetAlarm() (time.Time, bool, error) {
	s := (*Storage)(st)
	st2, err := s.st()
	if err != nil {
		return time.Time{}, false, err
	}
	var n int64
	stmt, err := st2.stmt(`SELECT scheduled FROM _warren_alarms WHERE name = ''`)
	if err == nil {
		err = stmt.QueryRowContext(context.Background()).Scan(&n)
	}
	if errors.Is(err, sql.ErrNoRows) || noAlarmTable(err) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("object: get alarm: %w", err)
	}
	return fromUnixNano(n), true, nil
}

// DeleteAlarm removes the alarm, if any. Called from the Alarm handler it also
// cancels the retry of the running alarm if the handler succeeds.
func (st *State) DeleteAlarm() error {
	if _, err := orNoAlarms((*Storage)(st).exec(`DELETE FROM _warren_alarms WHERE name = ''`)); err != nil {
		return fmt.Errorf("object: delete alarm: %w", err)
	}
	st.alarmWrite("")
	st.singleAlarmWritten(time.Time{}, false)
	st.alarm.setTo = nil
	return nil
}

// Schedule creates or replaces the named schedule: OnSchedule will receive name and
// payload at the times spec says. An invalid spec returns an error wrapping ErrBadSpec.
func (st *State) Schedule(name string, spec Spec, payload []byte) error {
	if st.e.ns.noSchedules {
		return fmt.Errorf("%w: %s objects have no OnSchedule handler", ErrNoHandler, st.e.ns.name)
	}
	if name == "" {
		return fmt.Errorf("%w: empty schedule name", ErrBadSpec)
	}
	if len(name) > MaxKeySize {
		return fmt.Errorf("%w: schedule name of %d bytes (max %d)", ErrTooLarge, len(name), MaxKeySize)
	}
	if len(payload) > MaxValueSize {
		return fmt.Errorf("%w: payload of %d bytes (max %d)", ErrTooLarge, len(payload), MaxValueSize)
	}
	if err := spec.Err(); err != nil {
		return err
	}
	if !st.usable() {
		return ErrNotInTurn
	}
	due, err := spec.first(st.Now())
	if err != nil {
		return err
	}
	text := spec.String()
	if spec.kind == specAfter {
		text = At(due).String()
	}
	if payload == nil {
		payload = []byte{}
	}
	s := (*Storage)(st)
	if _, err := s.st(); err != nil {
		return fmt.Errorf("object: schedule %q: %w", name, err)
	}
	if err := s.upsertAlarmRow(name, text, payload, unixNano(due)); err != nil {
		return fmt.Errorf("object: schedule %q: %w", name, err)
	}
	st.alarmWrite(name)
	return nil
}

// Unschedule deletes the named schedule and reports whether it existed.
func (st *State) Unschedule(name string) (bool, error) {
	if name == "" {
		return false, nil
	}
	r, err := orNoAlarms((*Storage)(st).exec(`DELETE FROM _warren_alarms WHERE name = ?`, name))
	if err != nil {
		return false, fmt.Errorf("object: unschedule %q: %w", name, err)
	}
	st.alarmWrite(name)
	n, _ := r.RowsAffected()
	return n > 0, nil
}

// Schedules lists the object's named schedules, by name.
func (st *State) Schedules() ([]ScheduleInfo, error) {
	s := (*Storage)(st)
	st2, err := s.st()
	if err != nil {
		return nil, err
	}
	var rows *sql.Rows
	stmt, err := st2.stmt(`SELECT name, spec, payload, due, retries FROM _warren_alarms WHERE name <> '' ORDER BY name`)
	if err == nil {
		rows, err = stmt.QueryContext(context.Background())
	}
	if noAlarmTable(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("object: schedules: %w", err)
	}
	defer rows.Close()
	var out []ScheduleInfo
	for rows.Next() {
		var si ScheduleInfo
		var spec string
		var due int64
		if err := rows.Scan(&si.Name, &spec, &si.Payload, &due, &si.RetryCount); err != nil {
			return nil, fmt.Errorf("object: schedules: %w", err)
		}
		si.Spec, _ = ParseSpec(spec)
		si.Next = fromUnixNano(due)
		out = append(out, si)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("object: schedules: %w", err)
	}
	return out, nil
}

// alarmRow is one due row of _warren_alarms.
type alarmRow struct {
	name      string
	spec      string
	payload   []byte
	scheduled time.Time
	retries   int
}

// maxFiringsPerTurn bounds the handlers one wake turn runs; the rest get a new turn.
const maxFiringsPerTurn = 64

// wakeTurn runs the due alarms and schedules of the object, each handler in a
// savepoint of its own. Each occurrence is read again just before it fires, so a
// handler that deleted or postponed another one prevents or moves that one's firing.
// A failing handler is rolled back, its retry recorded, the instance reset, and the
// turn ends (later due rows get a fresh wake). Occurrences that became due during the
// turn get the next wake (settle runs after its commit, whatever happens).
func (e *entity) wakeTurn(ctx context.Context, inst any) error {
	st := e.state
	st.alarmsUnknown()
	now := e.rt.cfg.Clock.Now()
	var rows *sql.Rows
	stmt, err := st.stmt(`SELECT name FROM _warren_alarms WHERE due <= ? ORDER BY due, name LIMIT ?`)
	if err == nil {
		rows, err = stmt.QueryContext(context.Background(), unixNano(now), maxFiringsPerTurn)
	}
	if noAlarmTable(err) {
		return nil // nothing due
	}
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		names = append(names, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, name := range names {
		r, ok, err := e.dueAlarm(name, now)
		if err != nil {
			return err
		}
		if !ok {
			continue // deleted or postponed by an earlier handler of this turn
		}
		failed, err := e.fire(ctx, inst, r)
		if err != nil || failed {
			return err
		}
	}
	return nil
}

// dueAlarm reads the named occurrence if it is still due at now.
func (e *entity) dueAlarm(name string, now time.Time) (alarmRow, bool, error) {
	r := alarmRow{name: name}
	var sch int64
	stmt, err := e.state.stmt(`SELECT spec, payload, scheduled, retries FROM _warren_alarms WHERE name = ? AND due <= ?`)
	if err == nil {
		err = stmt.QueryRowContext(context.Background(), name, unixNano(now)).Scan(&r.spec, &r.payload, &sch, &r.retries)
	}
	if errors.Is(err, sql.ErrNoRows) || noAlarmTable(err) {
		return alarmRow{}, false, nil
	}
	if err != nil {
		return alarmRow{}, false, err
	}
	r.scheduled = fromUnixNano(sch)
	return r, true, nil
}

// fire runs one handler. It reports failed when the handler failed (and was rolled
// back, its retry recorded); err is a storage error that must fail the whole turn.
func (e *entity) fire(ctx context.Context, inst any, r alarmRow) (failed bool, err error) {
	st := e.state
	rt := e.rt
	rt.stats.alarmRuns.Add(1)
	if r.retries > 0 {
		rt.stats.alarmRetries.Add(1)
	}
	outMark, rowsMark, undoMark := len(st.outbox), len(st.rows), len(st.undo)
	if err := e.exec(ctx, "SAVEPOINT alarm"); err != nil {
		return false, err
	}
	st.alarm.firing, st.alarm.touched, st.alarm.setTo = true, nil, nil
	herr := e.userCall(ctx, e.current, false, func(ctx context.Context) error {
		st.begin(ctx)
		return e.callHandler(ctx, inst, r)
	})
	if herr == errAbandoned {
		return true, herr
	}
	if lost := e.checkSQL(ctx, &herr); lost != nil {
		return false, lost
	}
	touched, setTo := st.alarm.touched[r.name], st.alarm.setTo
	st.alarm.firing, st.alarm.touched, st.alarm.setTo = false, nil, nil
	if keepsTurn(herr) {
		if herr != nil {
			rt.cfg.Logger.Info("object: alarm handler returned an application error; the occurrence is done", "namespace", e.ns.name, "id", e.id.String(), "schedule", r.name, "err", herr)
		}
		if err := e.exec(ctx, "RELEASE alarm"); err != nil {
			return false, err
		}
		if touched {
			return false, nil // the handler rescheduled or deleted it itself
		}
		return false, e.completeAlarm(r)
	}

	rt.stats.alarmFailures.Add(1)
	for _, rw := range st.rows[rowsMark:] {
		rw.Close()
	}
	st.rows = st.rows[:rowsMark]
	st.outbox = st.outbox[:outMark]
	st.undoTo(undoMark)
	if err := e.exec(ctx, "ROLLBACK TO alarm"); err != nil {
		return true, err
	}
	if err := e.exec(ctx, "RELEASE alarm"); err != nil {
		return true, err
	}
	e.reset()
	log := rt.cfg.Logger.With("namespace", e.ns.name, "id", e.id.String(), "schedule", r.name, "retry", r.retries, "err", herr)
	if perr := (*PanicError)(nil); errors.As(herr, &perr) {
		rt.stats.panics.Add(1)
		log = log.With("stack", string(perr.Stack))
	}
	st.alarmsUnknown()
	switch limit := rt.alarmRetries(); {
	case r.name == "" && setTo != nil:
		// Durable Objects semantics: a handler that set a new alarm is not retried.
		log.Warn("object: alarm handler failed; the alarm it set replaces the retry")
		err = (*Storage)(st).upsertAlarmRow("", "", nil, unixNano(*setTo))
	case r.retries < limit:
		at := rt.cfg.Clock.Now().Add(rt.alarmBackoff(r.retries))
		log.Warn("object: alarm handler failed; will retry", "at", at)
		_, err = orNoAlarms((*Storage)(st).execAny(`UPDATE _warren_alarms SET retries = retries + 1, due = ? WHERE name = ?`, unixNano(at), r.name))
	default:
		log.Error("object: alarm handler failed; giving up after its retries")
		err = e.completeAlarm(r)
	}
	return true, err
}

func (e *entity) callHandler(ctx context.Context, inst any, r alarmRow) error {
	if r.name == "" {
		h, ok := inst.(AlarmHandler)
		if !ok {
			return fmt.Errorf("object: %s objects set an alarm but have no Alarm method", e.ns.name)
		}
		return h.Alarm(ctx, AlarmInfo{RetryCount: r.retries, IsRetry: r.retries > 0, ScheduledTime: r.scheduled})
	}
	h, ok := inst.(ScheduleHandler)
	if !ok {
		return fmt.Errorf("object: %s objects have schedules but no OnSchedule method", e.ns.name)
	}
	p := r.payload
	if p == nil {
		p = []byte{}
	}
	return h.OnSchedule(ctx, Firing{Name: r.name, Payload: p, RetryCount: r.retries, ScheduledTime: r.scheduled})
}

// completeAlarm retires a delivered occurrence: one-shots are deleted, repeating
// schedules move to their next occurrence. Only the occurrence that fired is retired:
// a row that was replaced meanwhile (another spec or time) is left alone.
func (e *entity) completeAlarm(r alarmRow) error {
	s := (*Storage)(e.state)
	e.state.alarmsUnknown()
	if r.name != "" {
		spec, err := ParseSpec(r.spec)
		if err == nil && spec.Repeats() {
			next, err := spec.next(r.scheduled, e.rt.cfg.Clock.Now())
			if err == nil {
				_, err = orNoAlarms(s.execAny(`UPDATE _warren_alarms SET due = ?, scheduled = ?, retries = 0 WHERE name = ? AND spec = ? AND scheduled = ?`,
					unixNano(next), unixNano(next), r.name, r.spec, unixNano(r.scheduled)))
				return err
			}
			e.rt.cfg.Logger.Error("object: schedule has no next occurrence; deleting it", "namespace", e.ns.name, "id", e.id.String(), "schedule", r.name, "err", err)
		}
	}
	_, err := orNoAlarms(s.execAny(`DELETE FROM _warren_alarms WHERE name = ? AND spec = ? AND scheduled = ?`, r.name, r.spec, unixNano(r.scheduled)))
	return err
}

// execAny runs one of the runtime's statements on the object's connection, in or out
// of a user turn.
func (s *Storage) execAny(q string, args ...any) (sql.Result, error) {
	stmt, err := (*State)(s).stmt(q)
	if err != nil {
		return nil, err
	}
	s.guard.wrote = true
	return stmt.ExecContext(context.Background(), args...)
}

// alarmRetries is the number of retries after a failed first attempt.
func (rt *Runtime) alarmRetries() int {
	if rt.cfg.AlarmRetries < 0 {
		return 0
	}
	return rt.cfg.AlarmRetries
}

// alarmBackoff is the delay before retry n+1: 2s × 2ⁿ, ±25 % jitter.
func (rt *Runtime) alarmBackoff(n int) time.Duration {
	if n > 20 {
		n = 20
	}
	base := float64(2*time.Second) * float64(int64(1)<<n)
	return time.Duration(base * (0.75 + 0.5*rt.cfg.AlarmJitter()))
}

// alarmsBeforeCommit makes the wake index durable for the object's earliest due time
// before the batch that set it commits, so no alarm is ever late or lost.
func (e *entity) alarmsBeforeCommit(ctx context.Context) error {
	st := e.state
	if st == nil || !st.alarm.dirty {
		return nil
	}
	if err := st.earliestAlarm(ctx); err != nil {
		return err
	}
	if c := e.rt.cfg.Cluster; c != nil {
		if err := c.AlarmDue(e.rt.seamCtx, e.ns.name, e.id, st.alarm.next, st.alarm.has, false); err != nil {
			return err
		}
	}
	if !st.alarm.has {
		return nil
	}
	return e.rt.wake.ensure(wakeKey{e.ns.name, e.id.raw}, st.alarm.next)
}

// dueRow is a name and due time read from _warren_alarms (ok false: no row).
type dueRow struct {
	name string
	due  int64
	ok   bool
}

// earliestAlarm sets st.alarm.next (has) to the earliest due time the batch leaves in
// _warren_alarms. When the batch only set or deleted the single alarm it is computed
// from what the last commit left; otherwise the two earliest rows are read, which
// also gives the earliest of the rows other than the single alarm's for next time.
func (st *State) earliestAlarm(ctx context.Context) error {
	a := &st.alarm
	if a.exact && a.single {
		a.has, a.next = a.singleHas, a.singleDue
		if a.restHas && (!a.has || a.rest.Before(a.next)) {
			a.has, a.next = true, a.rest
		}
		return nil
	}
	var rows *sql.Rows
	stmt, err := st.stmt(`SELECT name, due FROM _warren_alarms ORDER BY due LIMIT 2`)
	if err == nil {
		rows, err = stmt.QueryContext(ctx)
	}
	if noAlarmTable(err) {
		a.has, a.exact, a.restHas = false, true, false // no table: no alarm
		return nil
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	var first, second dueRow
	for _, r := range []*dueRow{&first, &second} {
		if !rows.Next() {
			break
		}
		if err := rows.Scan(&r.name, &r.due); err != nil {
			return err
		}
		r.ok = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	a.has, a.next = first.ok, fromUnixNano(first.due)
	rest := first
	if first.name == "" {
		rest = second
	}
	a.exact, a.restHas, a.rest = true, rest.ok, fromUnixNano(rest.due)
	return nil
}

// alarmsAfterCommit records the exact earliest due time in the wake index.
func (e *entity) alarmsAfterCommit() {
	st := e.state
	if st == nil || !st.alarm.dirty {
		return
	}
	st.alarm.dirty, st.alarm.single = false, false
	e.rt.wake.settle(wakeKey{e.ns.name, e.id.raw}, st.alarm.next, st.alarm.has)
	if c := e.rt.cfg.Cluster; c != nil {
		c.AlarmDue(e.rt.seamCtx, e.ns.name, e.id, st.alarm.next, st.alarm.has, true)
	}
}
