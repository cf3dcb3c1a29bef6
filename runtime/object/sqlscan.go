package object

// A statement that passes the authorizer can still end the turn's transaction: SQLite
// rolls the whole transaction back (the open batch, other callers' turns included) when
// a constraint with the ROLLBACK conflict resolution fails or a trigger runs
// RAISE(ROLLBACK, ...). The authorizer does not see conflict resolutions, so user SQL
// is scanned for the keyword first. Since the ROLLBACK statement itself is refused,
// the keyword can only be one of
//
//	INSERT OR ROLLBACK / UPDATE OR ROLLBACK     a statement's conflict clause
//	... ON CONFLICT ROLLBACK                     a column or table constraint's
//	RAISE(ROLLBACK, 'msg')                       in a trigger body
//
// or an unquoted identifier spelled rollback, which is refused too (quote it). The
// scan follows SQLite's tokenizer for what hides a word: string and blob literals,
// quoted identifiers ("...", `...`, [...]), comments, and parameters (:name, @name,
// $name, #name). Whatever an old schema already holds is caught at run time instead
// (sqlGuard's rollback hook).

// rollbackKeyword reports whether query has the word ROLLBACK (any case) outside
// literals, quoted identifiers, comments and parameter names.
func rollbackKeyword(query string) bool {
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			i = skipPast(query, i+2, "\n")
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			i = skipPast(query, i+2, "*/")
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(query, i+1, c)
		case c == '[':
			i = skipPast(query, i+1, "]")
		case c == ':' || c == '@' || c == '$' || c == '#' || c == '?' || isDigit(c):
			// a parameter name or a number: one token, never a keyword
			i++
			for i < len(query) && (isIDChar(query[i]) || query[i] == '.') {
				i++
			}
		case isIDStart(c):
			j := i + 1
			for j < len(query) && isIDChar(query[j]) {
				j++
			}
			if isWord(query[i:j], "rollback") {
				return true
			}
			i = j
		default:
			i++
		}
	}
	return false
}

// skipPast returns the index just after the first end at or after i, or len(s).
func skipPast(s string, i int, end string) int {
	for ; i+len(end) <= len(s); i++ {
		if s[i:i+len(end)] == end {
			return i + len(end)
		}
	}
	return len(s)
}

// skipQuoted returns the index just after the quote q that closes a literal or
// identifier opened before i; a doubled quote is an escaped one.
func skipQuoted(s string, i int, q byte) int {
	for i < len(s) {
		if s[i] != q {
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == q {
			i += 2
			continue
		}
		return i + 1
	}
	return len(s)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isIDStart and isIDChar follow SQLite: letters, '_', and every byte of a multi-byte
// UTF-8 character; '$' and digits inside.
func isIDStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c >= 0x80
}
func isIDChar(c byte) bool { return isIDStart(c) || isDigit(c) || c == '$' }

// isWord reports whether w equals the lowercase ASCII word kw, ignoring ASCII case
// (SQLite's keyword comparison).
func isWord(w, kw string) bool {
	if len(w) != len(kw) {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != kw[i] {
			return false
		}
	}
	return true
}
