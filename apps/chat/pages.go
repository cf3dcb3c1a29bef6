package main

import (
	"encoding/json"
	"slices"
)

// Replies that carry messages (all, chat:resume, chat:history, chat:search) are
// pages bounded in bytes as well as in count: a page holds the messages that fit
// in its byte limit, encoded (at least one, so a client always makes progress),
// and says whether more exist; the client asks for the next page. One message is
// at most about 24 KiB encoded (4000 bytes of content, each escaped to 6).

// page is the encoded messages of one reply.
type page struct {
	msgs  []json.RawMessage
	bytes int
}

// fit encodes msgs in order until the next one would take the page over limit
// bytes; the first one is always kept.
func fit(msgs []Message, limit int) page {
	var p page
	for _, m := range msgs {
		b, err := json.Marshal(m)
		if err != nil {
			continue // a Message always encodes; skip rather than send a broken page
		}
		if len(p.msgs) > 0 && p.bytes+len(b)+1 > limit {
			break
		}
		p.msgs = append(p.msgs, b)
		p.bytes += len(b) + 1
	}
	if p.msgs == nil {
		p.msgs = []json.RawMessage{}
	}
	return p
}

// latest returns the live messages with seq < before (0: the latest), at most
// limit of them and about maxBytes encoded, oldest first, and whether older ones
// exist.
func (r *Room) latest(before int64, limit, maxBytes int) (page, bool, error) {
	if before <= 0 {
		before = r.seq + 1
	}
	rows, err := r.query(`SELECT `+cols+` FROM messages WHERE seq < ? AND deleted = 0 ORDER BY seq DESC LIMIT ?`, before, limit+1)
	if err != nil {
		return page{}, false, err
	}
	p := fit(rows[:min(len(rows), limit)], maxBytes) // the newest that fit
	slices.Reverse(p.msgs)
	return p, len(rows) > len(p.msgs), nil
}

// resumeRows bounds the rows one chat:resume page reads.
const resumeRows = 200

// changes returns the messages added, edited or deleted after rev since, in rev
// order, about maxBytes of them encoded; upto is the rev the page brings the client
// to (every change up to it is in this page or an earlier one) and more whether
// later changes remain.
func (r *Room) changes(since int64, maxBytes int) (p page, upto int64, more bool, err error) {
	rows, err := r.query(`SELECT `+cols+` FROM messages WHERE rev > ? ORDER BY rev LIMIT ?`, since, resumeRows)
	if err != nil {
		return page{}, 0, false, err
	}
	p = fit(rows, maxBytes)
	// Every change sets its message's rev to the room's new rev, so the highest
	// rev in the table is r.rev: the page is the last one when it reaches it.
	if n := len(p.msgs); n > 0 && rows[n-1].Rev < r.rev {
		return p, rows[n-1].Rev, true, nil
	}
	return p, r.rev, false, nil
}
