package object

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// memConns keeps the connections of in-memory databases that objects closed, for the
// next object that starts in memory (openInMemory): opening a connection, closing it,
// and the schema read of the ATTACH that Deserialize runs on a fresh one were a
// quarter of a new object's CPU. Deserialize replaces the whole main database, and a
// connection goes back only when nothing else it held can reach the next object:
// user SQL touched no temp table, trigger or view (sqlGuard.temp), and its database
// is small (it keeps its memory until the next Deserialize). The connection-level
// settings (foreign_keys, trusted_schema) are the runtime's and user SQL cannot
// change them.
type memConns struct {
	mu   sync.Mutex
	free []memConn
}

type memConn struct {
	db   *sql.DB
	conn *sql.Conn
	g    *sqlGuard
	// changes is the connection's total_changes() when known (no write since the
	// object last counted its rows), else -1.
	changes int64
}

// maxPooledConns bounds memConns; a pooled connection keeps a database of at most
// maxLoadBytes (the largest image inMemoryStart loads).
const maxPooledConns = 16

// memConnPragmas and memDBPragma are the pragmas of an in-memory database: foreign_keys and
// trusted_schema are the connection's, max_page_count is the database's, set again
// after each Deserialize.
var (
	memConnPragmas = "PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF; "
	memDBPragma    = fmt.Sprintf("PRAGMA max_page_count=%d", maxMemoryPages)
)

// open returns a connection holding a copy of image (see openInMemory), a pooled one
// when there is one. Its guard's startChanges is the connection's total_changes().
func (p *memConns) open(ctx context.Context, image []byte) (*sql.DB, *sql.Conn, *sqlGuard, error) {
	img := image
	if img[18] != 1 || img[19] != 1 {
		img = memoryImage(append([]byte(nil), image...))
	}
	if c, ok := p.take(); ok {
		if err := p.reuse(ctx, c, img); err == nil {
			return c.db, c.conn, c.g, nil
		}
		c.conn.Close()
		c.db.Close()
	}
	db, conn, err := openConn(ctx, ":memory:")
	if err != nil {
		return nil, nil, nil, err
	}
	if err := deserialize(conn, img); err != nil {
		conn.Close()
		db.Close()
		return nil, nil, nil, err
	}
	// One Exec for the three (SQLite runs each statement of the text in turn).
	g, err := prepareConn(ctx, db, conn, []string{memConnPragmas + memDBPragma})
	if err != nil {
		return nil, nil, nil, err
	}
	return db, conn, g, nil
}

// reuse loads img into a pooled connection and resets its guard.
func (p *memConns) reuse(ctx context.Context, c memConn, img []byte) error {
	if err := deserialize(c.conn, img); err != nil {
		return err // inside a transaction, say: the connection is closed
	}
	if _, err := c.conn.ExecContext(ctx, memDBPragma); err != nil {
		return err
	}
	total := c.changes
	if total < 0 {
		if err := c.conn.QueryRowContext(ctx, "SELECT total_changes()").Scan(&total); err != nil {
			return err
		}
	}
	*c.g = sqlGuard{startChanges: total}
	return nil
}

func (p *memConns) take() (memConn, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) == 0 {
		return memConn{}, false
	}
	c := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return c, true
}

// put closes an in-memory database's connection, or keeps it for the next object
// when it may be kept (see memConns). The caller closed its statements; changes is
// the connection's total_changes() or -1 when not known, size the database's bytes
// or -1 when not known (then put asks SQLite: a statement parsed for it was a sixth
// of a new object's CPU).
func (p *memConns) put(db *sql.DB, conn *sql.Conn, g *sqlGuard, changes, size int64) {
	if !g.temp {
		var err error
		if size < 0 {
			err = conn.QueryRowContext(context.Background(), "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()").Scan(&size)
		}
		if err == nil && size <= maxLoadBytes {
			p.mu.Lock()
			if p.free != nil && len(p.free) < maxPooledConns {
				p.free = append(p.free, memConn{db, conn, g, changes})
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
		}
	}
	conn.Close()
	db.Close()
}

// start lets put keep connections; closeAll closes the kept ones and makes put
// close every connection from then on.
func (p *memConns) start() {
	p.mu.Lock()
	p.free = make([]memConn, 0, maxPooledConns)
	p.mu.Unlock()
}

func (p *memConns) closeAll() {
	p.mu.Lock()
	free := p.free
	p.free = nil
	p.mu.Unlock()
	for _, c := range free {
		c.conn.Close()
		c.db.Close()
	}
}

// deserialize replaces conn's main database with a copy of img.
func deserialize(conn *sql.Conn, img []byte) error {
	return conn.Raw(func(dc any) error {
		s, ok := dc.(serializer)
		if !ok {
			return fmt.Errorf("sqlite driver cannot deserialize")
		}
		return s.Deserialize(img)
	})
}
