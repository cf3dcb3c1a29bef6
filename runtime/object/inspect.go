package object

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// ObjectDetails is everything the inspector shows of one object.
type ObjectDetails struct {
	ObjectInfo
	KVEntries  int64          `json:"kv_entries"`
	Tables     []TableInfo    `json:"tables"`
	Alarms     []StoredAlarm  `json:"alarms"` // the alarm (Name "") and the schedules
	SocketList []SocketInfo   `json:"socket_list"`
	Metrics    *ObjectMetrics `json:"metrics,omitempty"` // nil when not tracked (see TopObjects)
	Recent     []BatchRecord  `json:"recent"`            // the last batches of turns, oldest first
}

// TableInfo is one of an object's own tables.
type TableInfo struct {
	Name string `json:"name"`
	Rows int64  `json:"rows"`
}

// StoredAlarm is an alarm or schedule as stored.
type StoredAlarm struct {
	Name    string    `json:"name"` // "" for the alarm
	Spec    string    `json:"spec"`
	Due     time.Time `json:"due"`
	Retries int       `json:"retries"`
}

// SocketInfo is one connected WebSocket.
type SocketInfo struct {
	ID         string    `json:"id"`
	Tags       []string  `json:"tags"`
	Attachment any       `json:"attachment,omitempty"` // JSON when it parses, else a string or Blob
	LastSeen   time.Time `json:"last_seen"`
}

// Inspect describes one object: its listing entry, its tables with their row counts,
// alarms, sockets and recent batches. It reads the database on a read-only
// connection (the last committed state) and blocks no turn.
func (rt *Runtime) Inspect(ctx context.Context, ns string, id ID) (ObjectDetails, error) {
	info, err := rt.Object(ctx, ns, id)
	if err != nil {
		return ObjectDetails{}, err
	}
	d := ObjectDetails{ObjectInfo: info, Tables: []TableInfo{}, Alarms: []StoredAlarm{}, SocketList: []SocketInfo{}, Recent: []BatchRecord{}}
	db, err := openReadOnly(rt.dbPath(ns, id))
	if err != nil {
		return ObjectDetails{}, fmt.Errorf("object: inspect %s/%s: %w", ns, id, err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return ObjectDetails{}, err
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM _warren_kv`).Scan(&d.KVEntries); err != nil {
		return ObjectDetails{}, fmt.Errorf("object: inspect %s/%s: %w", ns, id, err)
	}
	tables, err := userTables(ctx, tx)
	if err != nil {
		return ObjectDetails{}, err
	}
	for _, t := range tables {
		ti := TableInfo{Name: t}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(t)).Scan(&ti.Rows); err != nil {
			return ObjectDetails{}, err
		}
		d.Tables = append(d.Tables, ti)
	}
	rows, err := tx.QueryContext(ctx, `SELECT name, spec, due, retries FROM _warren_alarms ORDER BY due`)
	switch {
	case noAlarmTable(err): // no alarm or schedule was ever set
	case err != nil:
		return ObjectDetails{}, err
	default:
		for rows.Next() {
			var a StoredAlarm
			var due int64
			if err := rows.Scan(&a.Name, &a.Spec, &due, &a.Retries); err != nil {
				rows.Close()
				return ObjectDetails{}, err
			}
			a.Due = fromUnixNano(due)
			d.Alarms = append(d.Alarms, a)
		}
		rows.Close()
	}
	d.SocketList = rt.socketInfos(ns, id)
	if m, recent, ok := rt.objectMetricsOf(wakeKey{ns, id.raw}); ok {
		m.Sockets = len(d.SocketList)
		d.Metrics, d.Recent = &m, recent
	}
	return d, nil
}

// socketInfos lists an object's sockets with their tags and committed attachments.
func (rt *Runtime) socketInfos(ns string, id ID) []SocketInfo {
	out := []SocketInfo{}
	rt.mu.Lock()
	c := rt.namespaces[ns]
	rt.mu.Unlock()
	if c == nil {
		return out
	}
	r := rt.sockets()
	r.mu.Lock()
	var socks []*WebSocket
	if s := r.sets[objectKey{c, id.raw}]; s != nil {
		socks = append(socks, s.socks...)
	}
	r.mu.Unlock()
	for _, ws := range socks {
		ws.mu.Lock()
		si := SocketInfo{ID: ws.id, Tags: append([]string{}, ws.tags...), LastSeen: ws.LastSeen().UTC()}
		att := append([]byte(nil), ws.attach...)
		ws.mu.Unlock()
		if len(att) > 0 {
			var v any
			if json.Unmarshal(att, &v) == nil {
				si.Attachment = v
			} else if utf8.Valid(att) {
				si.Attachment = string(att)
			} else {
				si.Attachment = jsonValue(att)
			}
		}
		out = append(out, si)
	}
	return out
}
