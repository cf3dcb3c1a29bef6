package main

import (
	"context"

	"github.com/warrenhq/warren/runtime/object"
)

// LeaderboardSize is how many entries the leaderboard shows.
const LeaderboardSize = 10

// Score is one player's result, as sessions submit it and the leaderboard lists it.
type Score struct {
	Name  string `json:"name"`
	Best  int    `json:"best"`  // best score in one session
	Total int    `json:"total"` // points collected in all sessions
}

// Leaderboard is the all-time leaderboard: one object ("all-time") with a SQLite
// table. Sessions submit batches of score changes every few seconds and when a
// player leaves, never per tick.
type Leaderboard struct{ st *object.State }

func newLeaderboard(ctx context.Context, st *object.State) (*Leaderboard, error) {
	_, err := st.SQL().Exec(`CREATE TABLE IF NOT EXISTS scores (
		name TEXT PRIMARY KEY,
		best INTEGER NOT NULL,
		total INTEGER NOT NULL,
		updated INTEGER NOT NULL
	);
	CREATE INDEX IF NOT EXISTS scores_best ON scores(best DESC, updated)`)
	if err != nil {
		return nil, err
	}
	return &Leaderboard{st: st}, nil
}

// Submission is a batch of score changes: for each name, its best session score so
// far (Best) and the points collected since the previous submission (Total).
type Submission struct {
	Scores []Score `json:"scores"`
}

// Submit records a batch and returns the top of the leaderboard. An empty batch
// only reads it.
func (l *Leaderboard) Submit(ctx context.Context, s Submission) ([]Score, error) {
	now := l.st.Now().UnixMilli()
	for _, sc := range s.Scores {
		if sc.Name == "" || (sc.Best <= 0 && sc.Total <= 0) {
			continue
		}
		_, err := l.st.SQL().Exec(`INSERT INTO scores(name, best, total, updated) VALUES(?, ?, ?, ?)
			ON CONFLICT(name) DO UPDATE SET best = max(best, excluded.best), total = total + excluded.total, updated = excluded.updated`,
			SanitizeName(sc.Name, "anonymous"), max(sc.Best, 0), max(sc.Total, 0), now)
		if err != nil {
			return nil, err
		}
	}
	return l.Top(ctx, LeaderboardSize)
}

// Top returns the n best players, best score first.
func (l *Leaderboard) Top(ctx context.Context, n int) ([]Score, error) {
	rows, err := l.st.SQL().Query(`SELECT name, best, total FROM scores ORDER BY best DESC, updated LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Score{}
	for rows.Next() {
		var s Score
		if err := rows.Scan(&s.Name, &s.Best, &s.Total); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
