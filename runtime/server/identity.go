package server

import (
	"crypto/sha256"
	"encoding/hex"
)

// Client identities. Warren has no accounts: an app that needs to tell users apart
// lets each client keep a secret token of its own (the chat and globe pages keep
// one in localStorage and send it as ?token=) and knows the user by a public id
// derived from it, which proves nothing by itself and can be shown to everyone.

// ValidToken reports whether t is a well-formed client token: 16 to 128 of
// [A-Za-z0-9_-] (about 96 random bits at the least).
func ValidToken(t string) bool {
	if len(t) < 16 || len(t) > 128 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// PublicID derives a public id, 24 hex digits, from a client's secret: SHA-256 of
// domain, a NUL and secret, truncated to 96 bits. The domain (one per app and use)
// keeps the ids of different apps apart; the secret need never be stored.
func PublicID(domain, secret string) string {
	h := sha256.Sum256([]byte(domain + "\x00" + secret))
	return hex.EncodeToString(h[:12])
}
