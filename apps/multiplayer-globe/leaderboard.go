package main

import (
	"context"

	"github.com/warrenhq/warren/runtime/object"
)

// LeaderboardSize is how many entries the leaderboard shows.
const LeaderboardSize = 10

// Score is one player's result, as sessions submit it and the leaderboard lists it.
type Score struct {
	ID    string `json:"id"`    // the player's public id (a hash of their token): what the entry belongs to
	Name  string `json:"name"`  // the name the player last played under
	Best  int    `json:"best"`  // best score in one session
	Total int    `json:"total"` // points collected in all sessions
}

// Leaderboard is the all-time leaderboard: one object ("all-time") with a SQLite
// table, one row per player id, so points go to the player who collected them,
// never to whoever picks the same name. Sessions submit batches of score changes
// every few seconds and when a player leaves, never per tick.
type Leaderboard struct{ st *object.State }

// leaderboardMigrations are the leaderboard's schema versions (object.Migrate):
// 1 creates the table, keeping the rows of the table of earlier versions, keyed by
// name, with the id "name:<name>". Append new steps; never edit a shipped one.
var leaderboardMigrations = []object.Migration{object.Statements(leaderboardV1)}

const leaderboardV1 = `
CREATE TABLE IF NOT EXISTS players (
	uid TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	best INTEGER NOT NULL,
	total INTEGER NOT NULL,
	updated INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS players_best ON players(best DESC, updated);
CREATE TABLE IF NOT EXISTS scores (name TEXT PRIMARY KEY, best INTEGER NOT NULL, total INTEGER NOT NULL, updated INTEGER NOT NULL);
INSERT OR IGNORE INTO players(uid, name, best, total, updated) SELECT 'name:' || name, name, best, total, updated FROM scores;
DROP TABLE scores;
`

func newLeaderboard(ctx context.Context, st *object.State) (*Leaderboard, error) {
	return &Leaderboard{st: st}, object.Migrate(st, leaderboardMigrations...)
}

// Submission is a batch of score changes: for each player id, its best session
// score so far (Best) and the points collected since the previous submission (Total).
type Submission struct {
	Scores []Score `json:"scores"`
}

// maxIDBytes bounds a player id in a submission (ids are 24 hex digits).
const maxIDBytes = 64

// Submit records a batch and returns the top of the leaderboard. An empty batch
// only reads it.
func (l *Leaderboard) Submit(ctx context.Context, s Submission) ([]Score, error) {
	now := l.st.Now().UnixMilli()
	for _, sc := range s.Scores {
		if sc.ID == "" || len(sc.ID) > maxIDBytes || (sc.Best <= 0 && sc.Total <= 0) {
			continue
		}
		_, err := l.st.SQL().Exec(`INSERT INTO players(uid, name, best, total, updated) VALUES(?, ?, ?, ?, ?)
			ON CONFLICT(uid) DO UPDATE SET name = excluded.name, best = max(best, excluded.best), total = total + excluded.total, updated = excluded.updated`,
			sc.ID, SanitizeName(sc.Name, "anonymous"), max(sc.Best, 0), max(sc.Total, 0), now)
		if err != nil {
			return nil, err
		}
	}
	return l.Top(ctx, LeaderboardSize)
}

// The leaderboard's RPC methods, listed when "leaderboard" is registered.
var (
	submitScores = object.NewMethod("submit", (*Leaderboard).Submit)
	topScores    = object.NewMethod("top", (*Leaderboard).Top)
	boardMethods = object.Methods(submitScores, topScores)
)

// Top returns the n best players (n clamped to 1..100), best score first.
func (l *Leaderboard) Top(ctx context.Context, n int) ([]Score, error) {
	n = max(1, min(n, 100))
	rows, err := l.st.SQL().Query(`SELECT uid, name, best, total FROM players ORDER BY best DESC, updated LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Score{}
	for rows.Next() {
		var s Score
		if err := rows.Scan(&s.ID, &s.Name, &s.Best, &s.Total); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
