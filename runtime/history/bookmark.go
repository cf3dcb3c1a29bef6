package history

import "github.com/warrenhq/warren/runtime/internal/bookmark"

// A bookmark names one commit of one object's history, as Durable Objects' do, in
// the form of package internal/bookmark (cluster mode's are the same).

// encodeBookmark returns the bookmark of commit seq (at its time at) of object
// ("namespace/id").
func encodeBookmark(object string, seq uint64, at int64) string {
	return bookmark.Encode(object, seq, at)
}

// parseBookmark validates a bookmark of object and returns its commit
// (ErrBadBookmark when it is not one).
func parseBookmark(object, s string) (seq uint64, at int64, err error) {
	return bookmark.Parse(object, s, ErrBadBookmark)
}
