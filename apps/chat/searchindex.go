package main

// The full-text index (messages_fts) is filled in batches, not one message per
// turn: FTS5 writes the terms it holds out as a new index segment at every
// savepoint, and every turn is one, so indexing each message in its own turn cost
// the turn more than the message's own insert (and FTS5 merged the small segments
// again and again). A message after Room.indexed waits, in the messages table alone,
// until indexBatch of them wait or a search comes; the search indexes them first,
// so it sees every message, as before. An edit or delete of a message not indexed
// yet finds no index row to change (the batch reads the messages as they are then:
// deleted ones are left out).
//
// Anything that reads the room's database beside the room (the admin API's read
// queries, exports) sees messages_fts up to indexBatch-1 messages behind.

// indexBatch is how many messages wait for the index at most.
const indexBatch = 64

// loadIndexed sets r.indexed. The index holds every live message up to its highest
// rowid: the messages after it were deleted (and left the index) or wait.
func (r *Room) loadIndexed() error {
	return r.st.SQL().QueryRow(`SELECT coalesce((SELECT rowid FROM messages_fts ORDER BY rowid DESC LIMIT 1), 0)`).Scan(&r.indexed)
}

// indexWaiting indexes the live messages after r.indexed, in one statement.
func (r *Room) indexWaiting() error {
	if r.indexed >= r.seq {
		return nil
	}
	if _, err := r.st.SQL().Exec(`INSERT INTO messages_fts(rowid, content) SELECT seq, content FROM messages WHERE seq > ? AND deleted = 0`, r.indexed); err != nil {
		return err
	}
	r.indexed = r.seq
	return nil
}
