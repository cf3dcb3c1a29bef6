package main

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"
)

// Display names in a room. A name belongs to the first proven identity (a client
// with a token) that uses it in the room, for good; anyone else who asks for it
// appears as "name (2)", "name (3)", … (the first such name that is free, or
// already theirs), which is reserved for them in turn. Token-less clients (stock
// durable-chat-template clients: one identity per connection) never reserve a
// name, but cannot use someone's reserved name either. So within a room a name
// shown on a message, in presence or in a notice was chosen by one person only.
// Names compare case-folded with runs of spaces collapsed; look-alike characters
// of other scripts are not folded.

const namesSchema = `CREATE TABLE IF NOT EXISTS names(key TEXT PRIMARY KEY, uid TEXT NOT NULL);`

// MaxReservedNames bounds a room's reserved names; beyond it, new names are shown
// as asked but not reserved.
const MaxReservedNames = 10000

// maxNameTries bounds the "name (n)" variants tried before falling back to one
// made unique by the user's id.
const maxNameTries = 20

// nameKey is the form names are compared in.
func nameKey(name string) string {
	return strings.ToLower(strings.Join(strings.Fields(name), " "))
}

// shownName returns the name uid appears under when it asks for name (a valid
// name; runs of spaces become one), reserving it when proven.
func (r *Room) shownName(uid string, proven bool, name string) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	for n := 1; n <= maxNameTries; n++ {
		cand := name
		if n > 1 {
			suffix := " (" + strconv.Itoa(n) + ")"
			cand = truncate(name, MaxNameBytes-len(suffix)) + suffix
		}
		var holder string
		err := r.st.SQL().QueryRow(`SELECT uid FROM names WHERE key = ?`, nameKey(cand)).Scan(&holder)
		switch {
		case err == nil && holder == uid:
			return cand, nil
		case err == nil:
			continue
		case !errors.Is(err, sql.ErrNoRows):
			return "", err
		}
		if proven && r.names < MaxReservedNames {
			if _, err := r.st.SQL().Exec(`INSERT INTO names(key, uid) VALUES(?, ?)`, nameKey(cand), uid); err != nil {
				return "", err
			}
			r.names++
		}
		return cand, nil
	}
	suffix := " #" + uid[:8]
	return truncate(name, MaxNameBytes-len(suffix)) + suffix, nil
}
